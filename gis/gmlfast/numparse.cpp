// One decimal number, exactly rounded, by the C++ standard library: std::from_chars (libstdc++
// implements it with the fast_float algorithm: Eisel-Lemire, exact, no locale). The CityGML
// reader (rings.c) calls it for each posList token; its own hand-written parser went.
#include <charconv>
#include <system_error>

extern "C" int yk_parse_double(const char *p, const char *end, double *out) {
    if (p < end && *p == '+') p++;  // from_chars takes no '+' sign; float() and PLATEAU do
    auto r = std::from_chars(p, end, *out, std::chars_format::general);
    return r.ec == std::errc() && r.ptr == end;
}
