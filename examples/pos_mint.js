#!/usr/bin/env node
// Mint a receipt's survey link on the till, offline (Node 16+, no packages).
//
// The till keeps the business's POS secret (GET /v1/businesses/{biz}/pos-secret) and signs one token per
// receipt, so printing a receipt never waits for the network. Print the URL as a QR code.
//
//   export SURVEYS_POS_SECRET=...   # "secret" from the pos-secret route (base64url)
//   node pos_mint.js --base-url https://surveys.example --key-id 128 --business BIZ \
//       --touchpoint TP --metric csat --receipt HD-2026-000123 --label till=2 --label shift=tối
"use strict";
const crypto = require("node:crypto");

const CHANNELS = ["qr", "receipt", "email", "web"], METRICS = ["nps", "csat", "ces"];

function u32(n) { const b = Buffer.alloc(4); b.writeUInt32BE(n); return b; }

// The token format of chalicelib/domain/tokens.py, version 1 (HMAC-SHA256, 16-byte MAC).
// A receipt link always expires: the server refuses one without an expiry or more than 365 days ahead.
// `labels` (at most 4, e.g. {till: "2", shift: "tối"}) are signed into the link, sorted by name.
function mint(secret, { keyId, businessId, touchpointId, channel, metric, linkId, issuedAt, days = 90, labels = {} }) {
  if (!(Number.isInteger(days) && days >= 1 && days <= 365)) throw new Error("days must be 1..365");
  const pairs = Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1));
  const flags = CHANNELS.indexOf(channel) | (METRICS.indexOf(metric) << 2) | 16 | 32 // minted, has expiry
              | (pairs.length ? 64 : 0); // has labels
  const parts = [Buffer.from([1, keyId, flags]), u32(issuedAt), u32(issuedAt + days * 86400)];
  const field = (text) => { const raw = Buffer.from(text, "utf8"); parts.push(Buffer.from([raw.length]), raw); };
  [businessId, touchpointId, linkId].forEach(field);
  if (pairs.length) parts.push(Buffer.from([pairs.length])); // the label count, then name/value pairs
  for (const [name, value] of pairs) { field(name); field(value.normalize("NFC")); }
  const body = Buffer.concat(parts);
  const mac = crypto.createHmac("sha256", secret).update(body).digest().subarray(0, 16);
  return Buffer.concat([body, mac]).toString("base64url"); // "base64url" never pads
}

function args(argv) {
  const out = { "base-url": "https://surveys.example", channel: "receipt", days: "90", labels: {} };
  for (let i = 0; i < argv.length; i += 2) {
    if (!argv[i].startsWith("--") || argv[i + 1] === undefined) throw new Error("usage: --name value ...");
    if (argv[i] === "--label") { // NAME=VALUE, repeatable
      const [name, ...rest] = argv[i + 1].split("=");
      if (!rest.length || name in out.labels) throw new Error("--label is NAME=VALUE, each name once");
      out.labels[name] = rest.join("=");
    } else out[argv[i].slice(2)] = argv[i + 1];
  }
  if (Object.keys(out.labels).length > 4) throw new Error("at most 4 --label");
  for (const name of ["key-id", "business", "touchpoint", "metric", "receipt"]) {
    if (!out[name]) throw new Error(`--${name} is required`);
  }
  if (!METRICS.includes(out.metric) || !CHANNELS.includes(out.channel)) throw new Error("bad --metric or --channel");
  return out;
}

function main() {
  const a = args(process.argv.slice(2));
  const secretText = process.env.SURVEYS_POS_SECRET || "";
  if (!secretText) throw new Error("Set SURVEYS_POS_SECRET to the secret from GET /v1/businesses/{biz}/pos-secret.");
  const now = a.now ? Number(a.now) : Math.floor(Date.now() / 1000);
  const token = mint(Buffer.from(secretText, "base64url"), {
    keyId: Number(a["key-id"]), businessId: a.business, touchpointId: a.touchpoint, channel: a.channel,
    metric: a.metric, linkId: a.receipt, issuedAt: now, days: Number(a.days), labels: a.labels,
  });
  console.log(a["base-url"].replace(/\/+$/, "") + "/s/" + token);
}

try { main(); } catch (e) { console.error(e.message); process.exit(2); }
