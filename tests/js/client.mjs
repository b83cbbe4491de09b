// The ecosystem's own client: connect, join, receive and decode snapshots, then print a summary.
import { io } from "socket.io-client";
import { decode } from "@msgpack/msgpack";

const url = process.argv[2];
const socket = io(url, { transports: ["websocket"], reconnection: false });
const out = { snaps: 0, ids: new Set(), errors: [] };
const timer = setTimeout(() => finish(2), 10000);

function finish(code) {
  clearTimeout(timer);
  console.log(JSON.stringify({ ...out, ids: [...out.ids] }));
  socket.close();
  process.exit(code);
}

socket.on("error", (e) => out.errors.push(e.code));
socket.on("snap", (buf) => {
  const m = decode(new Uint8Array(buf));
  out.snaps += 1;
  for (const a of m.add) out.ids.add(a[0]);
  const upd = m.upd;
  for (let i = 0; i + 9 <= upd.length; i += 9) {
    const dv = new DataView(upd.buffer, upd.byteOffset + i, 9);
    out.ids.add(dv.getUint32(0, true));
  }
  if (out.snaps >= 3 && out.ids.has(out.join.id)) finish(0);
});
socket.on("connect", () => {
  socket.emit("join", { name: "JSクライアント", lang: "ja" }, (ack) => {
    out.join = ack;
    socket.emit("move", { vx: 0.5, vy: 0.5 });
    socket.emit("move", { bogus: true });
  });
});
socket.on("connect_error", (e) => { out.connect_error = String(e); finish(3); });
