// Drives taskpoller-sim with the official Tencent Cloud Node.js SDK (tests/e2e/node_sdk_e2e.sh
// starts the simulator and runs this). Usage: node node_sdk_client.js SDK_DIR PORT
//   SDK_DIR: where scripts/node-sdk installed tencentcloud-sdk-nodejs-common and -cvm
//   PORT:    the simulator's port on 127.0.0.1
// The SDK talks to http://cvm.tencentcloudapi.com:PORT/ with an HTTP agent whose DNS lookup sends
// *.tencentcloudapi.com to 127.0.0.1 (and refuses any other name), so the SDK signs and sends the
// real host name, exactly as against the cloud. Prints "ok: ..." per check; the first failed
// check prints "FAIL: ..." and ends the run with exit status 1.
"use strict";
const http = require("http");
const path = require("path");

const [sdkDir, portArg] = process.argv.slice(2);
const port = Number(portArg);
if (!sdkDir || !Number.isInteger(port) || port <= 0) {
  console.error("usage: node node_sdk_client.js SDK_DIR PORT");
  process.exit(2);
}
const modules = path.join(sdkDir, "node_modules");
const cvmSdk = require(path.join(modules, "tencentcloud-sdk-nodejs-cvm"));
const Sign = require(
  path.join(modules, "tencentcloud-sdk-nodejs-common/tencentcloud/common/sign"),
).default;

const secretId = "AKIDz8krbsJ5yKBZQpn74WFkmLPx3gnPhESA"; // the public example pair
const secretKey = "Gu5t9xGARNpq86cd98joQYCN3Cozk1qA";
const host = "cvm.tencentcloudapi.com";
const endpoint = `${host}:${port}`;

class CheckFailed extends Error {}
function fail(msg) {
  throw new CheckFailed(msg);
}
function check(cond, msg, detail) {
  if (!cond) fail(detail === undefined ? msg : `${msg}: ${JSON.stringify(detail)}`);
}
function pass(msg) {
  console.log(`ok: ${msg}`);
}

// Name resolution for the SDK's connections: the simulator for Tencent Cloud names, nothing else.
function lookup(hostname, options, callback) {
  if (typeof options === "function") [callback, options] = [options, {}];
  if (!hostname.endsWith(".tencentcloudapi.com")) {
    const e = new Error(`test resolver: ${hostname} is not a Tencent Cloud host`);
    e.code = "ENOTFOUND";
    return process.nextTick(callback, e);
  }
  if (options && options.all) {  // Node >= 20 asks for every address (autoSelectFamily)
    return process.nextTick(callback, null, [{ address: "127.0.0.1", family: 4 }]);
  }
  process.nextTick(callback, null, "127.0.0.1", 4);
}
const agent = new http.Agent({ lookup });

function sdkClient(id = secretId, key = secretKey) {
  return new cvmSdk.cvm.v20170312.Client({
    credential: { secretId: id, secretKey: key },
    region: "ap-guangzhou",
    profile: { httpProfile: { endpoint, protocol: "http://", reqTimeout: 10, agent } },
  });
}

// Runs fn with the process clock shifted by `seconds` (the SDK reads `new Date()` for
// X-TC-Timestamp): a client whose clock is wrong.
async function withClockShift(seconds, fn) {
  const RealDate = Date;
  class ShiftedDate extends RealDate {
    constructor(...args) {
      if (args.length === 0) super(RealDate.now() + seconds * 1000);
      else super(...args);
    }
    static now() {
      return RealDate.now() + seconds * 1000;
    }
  }
  global.Date = ShiftedDate;
  try {
    return await fn();
  } finally {
    global.Date = RealDate;
  }
}

// A call expected to be refused: resolves to the SDK's exception (code, requestId).
async function refused(promise) {
  try {
    const r = await promise;
    fail(`expected an error, the call succeeded: ${JSON.stringify(r)}`);
  } catch (e) {
    if (e instanceof CheckFailed || typeof e.code !== "string") throw e;
    return e;
  }
}

// Plain HTTP to the simulator: the ground-truth routes, and hand-made API calls.
function request(reqPath, { method = "GET", headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: "127.0.0.1", port, path: reqPath, method, headers, agent: false },
      (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          try {
            resolve({ status: res.statusCode, json: JSON.parse(text) });
          } catch (e) {
            const what = `${method} ${reqPath}: HTTP ${res.statusCode}`;
            reject(new Error(`${what}, not JSON: ${text.slice(0, 300)}`));
          }
        });
      },
    );
    req.on("error", reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}
// The simulator's ground truth (docs/simulator.md "Control endpoints").
async function truth(route) {
  return (await request(`/_sim/${route}`, { headers: { Host: "127.0.0.1" } })).json;
}

// A request built and signed by hand the way the SDK does it (its own Sign.sign3, the headers
// it sends), for sending with plain http.request.
function handSigned(action, body) {
  const timestamp = Math.floor(Date.now() / 1000);
  const headers = {
    "Content-Type": "application/json",
    Host: endpoint,
    "X-TC-Action": action,
    "X-TC-Region": "ap-guangzhou",
    "X-TC-Timestamp": String(timestamp),
    "X-TC-Version": "2017-03-12",
  };
  headers.Authorization = Sign.sign3({
    method: "POST", url: `http://${endpoint}/`, payload: Buffer.from(body), timestamp,
    service: "cvm", secretId, secretKey, headers,
  });
  return { headers, body };
}

function runCount(stats, id, action) {
  return ((stats.resources || {})[id] || {})[action] || 0;
}

async function main() {
  const instances = (await truth("instances")).instances;
  const running = instances.filter((i) => i.instance_state === "RUNNING").map((i) => i.id);
  check(running.length >= 2, "the simulator should start with two running instances", instances);
  const [target, bystander] = running; // target: stopped once; bystander: every refused call
  const client = sdkClient();

  // 1. DescribeInstances, signed by the SDK (Host carries the port, the SDK signs the hostname).
  const d = await client.DescribeInstances({ Limit: 100 });
  check(typeof d.RequestId === "string" && d.RequestId.length > 0, "DescribeInstances: RequestId",
    d);
  check(Array.isArray(d.InstanceSet) && d.InstanceSet.length > 0,
    "DescribeInstances: InstanceSet non-empty", d);
  check(d.InstanceSet.length === instances.length && d.TotalCount === instances.length,
    `DescribeInstances: all ${instances.length} instances`, d);
  const shown = d.InstanceSet.find((i) => i.InstanceId === target);
  check(shown && shown.InstanceState === "RUNNING", `DescribeInstances shows ${target} RUNNING`,
    shown);
  pass(`DescribeInstances signed by ${client.sdkVersion} accepted: RequestId ${d.RequestId}, ` +
    `${d.InstanceSet.length} instances`);

  // 2. StopInstances on a running instance: accepted and executed exactly once.
  const s = await client.StopInstances({ InstanceIds: [target] });
  check(typeof s.RequestId === "string" && s.RequestId.length > 0, "StopInstances: RequestId", s);
  let stats = await truth("stats");
  check(runCount(stats, target, "StopInstances") === 1, `StopInstances ran once on ${target}`,
    stats.resources);
  const tasks = (await truth("tasks")).tasks.filter((t) => t.action === "StopInstances");
  check(tasks.length === 1 && tasks[0].request_id === s.RequestId,
    "one StopInstances task, with the SDK's RequestId", tasks);
  const after = (await truth("instances")).instances.find((i) => i.id === target);
  check(after && after.instance_state !== "RUNNING", `${target} is no longer RUNNING`, after);
  pass(`StopInstances ${target} accepted (RequestId ${s.RequestId}), executed exactly once ` +
    `(now ${after.instance_state})`);

  // 3. Signed with the SDK's own sign3, then one byte of the body changed: refused, not run.
  // Control first: the same hand-made request, untouched (a DescribeInstances), is accepted.
  const ctl = handSigned("DescribeInstances", JSON.stringify({ InstanceIds: [bystander] }));
  const c = await request("/", { method: "POST", headers: ctl.headers, body: ctl.body });
  check(c.json.Response && !c.json.Response.Error && c.json.Response.TotalCount === 1,
    "an untouched request signed with sign3 is accepted", c.json);
  const signedBody = JSON.stringify({ InstanceIds: [bystander] });
  const { headers } = handSigned("StopInstances", signedBody);
  const last = bystander.slice(-1);
  const tamperedId = bystander.slice(0, -1) + (last === "0" ? "1" : "0");
  const tamperedBody = JSON.stringify({ InstanceIds: [tamperedId] });
  const differing = [...signedBody].filter((ch, i) => ch !== tamperedBody[i]).length;
  check(tamperedBody.length === signedBody.length && differing === 1,
    "tampered body differs in one byte");
  const t = await request("/", { method: "POST", headers, body: tamperedBody });
  check(t.status === 200, "tampered request: HTTP 200 with an error body", t);
  const terr = (t.json.Response || {}).Error || {};
  check(terr.Code === "AuthFailure.SignatureFailure",
    "tampered body: AuthFailure.SignatureFailure", t.json);
  pass(`body changed after signing (${bystander} -> ${tamperedId}): ${terr.Code}`);

  // 4. and 5. A client clock 10 minutes slow, then 6 minutes fast: outside the +-300 s window.
  const stopBystander = () => client.StopInstances({ InstanceIds: [bystander] });
  const skews = [[-600, "10 minutes in the past"], [360, "6 minutes in the future"]];
  for (const [shift, what] of skews) {
    const e = await refused(withClockShift(shift, stopBystander));
    check(e.code === "AuthFailure.SignatureExpire",
      `timestamp ${what}: AuthFailure.SignatureExpire`, { code: e.code, message: e.message });
    check(e.requestId, `timestamp ${what}: the error carries a RequestId`);
    pass(`timestamp ${what}: ${e.code} (RequestId ${e.requestId})`);
  }
  // Inside the window (4 minutes off either way) the SDK's calls are accepted.
  for (const shift of [-240, 240]) {
    const r = await withClockShift(shift,
      () => client.DescribeInstances({ InstanceIds: [bystander] }));
    check(r.InstanceSet && r.InstanceSet.length === 1,
      `clock ${shift} s: DescribeInstances accepted`, r);
  }
  pass("clock 4 minutes off either way: accepted");

  // 6. A SecretId the account list does not have.
  const e = await refused(sdkClient("AKIDnotAnAccountOfTheSimulator0000", secretKey)
    .StopInstances({ InstanceIds: [bystander] }));
  check(e.code === "AuthFailure.SecretIdNotFound", "unknown SecretId: AuthFailure.SecretIdNotFound",
    { code: e.code, message: e.message });
  pass(`unknown SecretId: ${e.code}`);

  // Nothing refused ran: one StopInstances in all, the bystander still running.
  stats = await truth("stats");
  const stop = (stats.actions || {}).StopInstances || {};
  check(stop.accepted === 1, "StopInstances accepted exactly once in all", stop);
  check(runCount(stats, bystander, "StopInstances") === 0 &&
    runCount(stats, tamperedId, "StopInstances") === 0, "no refused StopInstances ran",
    stats.resources);
  const codes = stop.refused || {};
  check(codes["AuthFailure.SignatureFailure"] === 1 && codes["AuthFailure.SignatureExpire"] === 2 &&
    codes["AuthFailure.SecretIdNotFound"] === 1, "the simulator counted each refusal", stop);
  check((await truth("tasks")).tasks.length === 1, "one task in all");
  const b = (await truth("instances")).instances.find((i) => i.id === bystander);
  check(b && b.instance_state === "RUNNING", `${bystander} still RUNNING`, b);
  pass(`nothing refused was executed (${bystander} still RUNNING, one StopInstances in all)`);
}

main()
  .catch((e) => {
    console.error(e instanceof CheckFailed ? `FAIL: ${e.message}`
      : `FAIL: unexpected error: ${e && e.stack}`);
    process.exitCode = 1;
  })
  .finally(() => agent.destroy());
