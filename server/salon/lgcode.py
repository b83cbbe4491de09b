"""全国地方公共団体コード (local government codes): 2 digits of prefecture, 3 of municipality and
a check digit, so that a mistyped code is caught at registration instead of naming another city.

The check digit (総務省, 昭和43年 自治省告示): multiply the first five digits by 6, 5, 4, 3, 2,
sum, take the remainder by 11, and keep the last digit of 11 minus it. 131016 (千代田区):
1*6 + 3*5 + 1*4 + 0*3 + 1*2 = 27, 27 % 11 = 5, 11 - 5 = 6. Pure: no I/O.
"""

from __future__ import annotations

_WEIGHTS = (6, 5, 4, 3, 2)


def check_digit(first5: str) -> int:
    total = sum(int(d) * w for d, w in zip(first5, _WEIGHTS, strict=True))
    return (11 - total % 11) % 10


def problem(code: object) -> str | None:
    """None for a valid code, else what is wrong with it (for the error message)."""
    if not isinstance(code, str) or len(code) != 6 or not code.isascii() or not code.isdigit():
        return "a 全国地方公共団体コード is 6 digits"
    if code[:2] == "00" or int(code[:2]) > 47:
        return "the first two digits are a prefecture, 01-47"
    if check_digit(code[:5]) != int(code[5]):
        return "the check digit (6th digit) does not match: mistyped?"
    return None


def is_valid(code: object) -> bool:
    return problem(code) is None


__all__ = ["check_digit", "is_valid", "problem"]
