// The interop matrix's @xmpp/client (tests/interop/matrix.py drives it):
// xmpp.js as bots and Node programs use it, nothing changed in how it
// closes.  Installed by `npm ci` in this folder from package-lock.json.
//
//   node client.mjs --port P --jid USER@localhost --password PW
//                   [--resource R] [--ca FILE] [--reconnect]
//
// The matrix's line protocol, the same for every client library:
//   stdin:  "send JID ID" a chat message; "close" xmpp.stop(); "exit"
//   stdout: "online FULLJID secure=yes|no", "roster N", "msg FROM ID",
//           "error CONDITION" (a stream error), "disconnected WHY"
// --ca FILE: the caller sets NODE_EXTRA_CA_CERTS=FILE, and a session that
// is not in TLS is an error.  --reconnect: @xmpp/reconnect's own
// reconnection (after 1 s) stays on; otherwise it is stopped.
import { client, xml } from "@xmpp/client";
import { createInterface } from "node:readline";

const args = {};
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  if (a === "--reconnect") args.reconnect = true;
  else args[a.replace(/^--/, "")] = process.argv[++i];
}
const [username, domain] = args.jid.split("@");
const say = (line) => process.stdout.write(line + "\n");

const xmpp = client({
  service: `xmpp://127.0.0.1:${args.port}`,
  domain,
  resource: args.resource ?? "xmppjs",
  username,
  password: args.password,
});
if (!args.reconnect) xmpp.reconnect.stop();
let closing = false;

xmpp.on("error", (err) => {
  if (err.condition) say(`error ${err.condition}`);
  else process.stderr.write(`error: ${err.message}\n`);
});
xmpp.on("disconnect", ({ clean, reason }) => {
  say(`disconnected ${clean ? "clean" : "dirty"}${reason ? "-" + reason : ""}`);
  if (closing) process.exit(0);
});
xmpp.on("stanza", (st) => {
  if (st.is("message") && ["chat", "normal", undefined].includes(st.attrs.type)) {
    say(`msg ${(st.attrs.from ?? "-").split("/")[0]} ${st.attrs.id ?? "-"}`);
  }
});
xmpp.on("online", async (address) => {
  say(`online ${address.toString()} secure=${xmpp.isSecure() ? "yes" : "no"}`);
  if (args.ca && !xmpp.isSecure()) process.stderr.write("not in TLS\n");
  await xmpp.send(xml("presence"));
  const res = await xmpp.iqCaller.request(
    xml("iq", { type: "get" }, xml("query", { xmlns: "jabber:iq:roster" })),
  );
  say(`roster ${res.getChild("query")?.getChildren("item").length ?? 0}`);
});

createInterface({ input: process.stdin }).on("line", async (line) => {
  const w = line.trim().split(/\s+/);
  if (w[0] === "send" && w.length === 3) {
    await xmpp.send(
      xml("message", { to: w[1], type: "chat", id: w[2] }, xml("body", {}, "hello")),
    ).catch(() => {});
  } else if (w[0] === "close") {
    closing = true;
    xmpp.reconnect.stop();
    await xmpp.stop().catch((e) => process.stderr.write(`stop: ${e}\n`));
  } else if (w[0] === "exit") {
    process.exit(0);
  }
});

xmpp.start().catch((e) => {
  process.stderr.write(`start: ${e}\n`);
  if (!args.reconnect) say(`disconnected start-failed`);
});
