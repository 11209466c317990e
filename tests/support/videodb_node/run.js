#!/usr/bin/env node
// Drives the official npm VideoDB SDK (videodb, pinned at 0.2.0 in package-lock.json) against a
// server, one step at a time, for the tests (tests/support/npm_sdk.py runs it).
//
//   node run.js --base-url http://127.0.0.1:PORT --api-key KEY [--steps '<json>']
//
// Without --steps, the steps are read from stdin: a JSON array of objects.
//
// Named values: "videodb" is the SDK module, "conn" is connect(apiKey, baseUrl) already made,
// "last" is the previous step's result; a step's "as" names its result for later steps.
//
//   {"call": "getCollection", "args": ["default"], "as": "coll"}          (on "conn" by default)
//   {"call": "connectRTStream", "on": "coll",
//    "args": ["rtsp://127.0.0.1:8554/cam1", "cam", ["video", "audio"], 1, true], "as": "rt"}
//   {"call": "getRTStream", "on": "coll", "args": [{"$ref": "rt.id"}]}    ($ref: a named value or a path in one)
//   {"call": "stop", "on": "rt"}                                           (result null, "object" shows rt after)
//   {"get": "status", "on": "rt"}                                         (read a property)
//   {"call": "connect", "on": "videodb", "args": [{"apiKey": "other", "baseUrl": "..."}], "as": "conn2"}
//   {"sleep": 0.5}                                                          (seconds)
//
// Output: one JSON line per step, in order:
//   {"step": 0, "call": "getCollection", "ok": true, "type": "Collection", "result": {...}, "object": {...}}
//   {"step": 1, "call": "getRTStream", "ok": false, "error": {"name": "InvalidRequestError",
//     "message": "Error 404: Not Found", "cause": "...", "status": 404, "body": {...}}}
// "result" is the value returned (class instances as their own data fields, camelCased as the SDK
// keeps them), "object" the target after the call (e.g. rtstream.status after stop()).
// A failed step does not stop the run unless the step says "required": true. Exit status 0 when
// the steps ran (whatever they returned), 2 for bad input.
'use strict';

const path = require('path');

function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    const key = argv[i];
    if (!key.startsWith('--')) throw new Error(`unexpected argument ${key}`);
    out[key.slice(2)] = argv[++i];
  }
  return out;
}

function readStdin() {
  return new Promise((resolve, reject) => {
    let data = '';
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (chunk) => { data += chunk; });
    process.stdin.on('end', () => resolve(data));
    process.stdin.on('error', reject);
  });
}

// A class instance as its data: own enumerable fields that are not functions (the SDK's methods
// are arrow-function fields); private #fields are not enumerable and stay out.
function plain(value, seen = new WeakSet()) {
  if (value === undefined) return null;
  if (value === null || typeof value !== 'object') return typeof value === 'function' ? null : value;
  if (seen.has(value)) return '[circular]';
  seen.add(value);
  if (Array.isArray(value)) return value.map((v) => plain(v, seen));
  if (value instanceof Date) return value.toISOString();
  const out = {};
  for (const [k, v] of Object.entries(value)) {
    if (typeof v === 'function') continue;
    out[k] = plain(v, seen);
  }
  return out;
}

function typeName(value) {
  if (value === null || value === undefined) return null;
  if (Array.isArray(value)) return 'Array';
  if (typeof value === 'object') return (value.constructor && value.constructor.name) || 'Object';
  return typeof value;
}

function lookup(names, ref) {
  const [head, ...rest] = String(ref).split('.');
  if (!(head in names)) throw new Error(`unknown name "${head}" in $ref "${ref}"`);
  let value = names[head];
  for (const key of rest) {
    if (value === null || value === undefined) throw new Error(`$ref "${ref}": ${key} of ${value}`);
    value = /^\d+$/.test(key) && Array.isArray(value) ? value[parseInt(key, 10)] : value[key];
  }
  return value;
}

function resolve(names, value) {
  if (Array.isArray(value)) return value.map((v) => resolve(names, v));
  if (value && typeof value === 'object') {
    if (Object.keys(value).length === 1 && '$ref' in value) return lookup(names, value.$ref);
    const out = {};
    for (const [k, v] of Object.entries(value)) out[k] = resolve(names, v);
    return out;
  }
  return value;
}

function describeError(err) {
  const out = { name: (err && err.constructor && err.constructor.name) || 'Error',
                message: err && err.message !== undefined ? String(err.message) : String(err) };
  // The SDK wraps causes as {cause: ...} (sometimes twice): unwrap to the text.
  let cause = err ? err.cause : undefined;
  while (cause && typeof cause === 'object' && cause.message === undefined && 'cause' in cause) {
    cause = cause.cause;
  }
  if (cause !== undefined) {
    out.cause = cause && typeof cause === 'object'
      ? (cause.message !== undefined ? String(cause.message) : plain(cause))
      : cause;
  }
  if (err && err.response) {
    out.status = err.response.status;
    out.body = plain(err.response.data);
  }
  return out;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const text = args.steps !== undefined ? args.steps : await readStdin();
  const steps = JSON.parse(text || '[]');
  if (!Array.isArray(steps)) throw new Error('steps must be a JSON array');

  const videodb = require(path.join(__dirname, 'node_modules', 'videodb'));
  const names = { videodb, last: null };
  names.conn = videodb.connect(args['api-key'] || 'test-key', args['base-url']);

  for (let i = 0; i < steps.length; i++) {
    const step = steps[i];
    const line = { step: i };
    try {
      if (step.sleep !== undefined) {
        line.call = 'sleep';
        await new Promise((r) => setTimeout(r, Number(step.sleep) * 1000));
        line.ok = true;
        line.result = null;
      } else {
        const target = lookup(names, step.on || 'conn');
        let result;
        if (step.get !== undefined) {
          line.get = step.get;
          result = lookup({ target }, `target.${step.get}`);
        } else {
          line.call = step.call;
          const fn = target && target[step.call];
          if (typeof fn !== 'function') throw new Error(`${step.on || 'conn'}.${step.call} is not a function`);
          result = await fn.apply(target, resolve(names, step.args || []));
        }
        names.last = result;
        if (step.as) names[step.as] = result;
        line.ok = true;
        line.type = typeName(result);
        line.result = plain(result);
        if (step.call !== undefined && target !== names.videodb) line.object = plain(target);
      }
    } catch (err) {
      line.ok = false;
      line.error = describeError(err);
    }
    process.stdout.write(JSON.stringify(line) + '\n');
    if (!line.ok && step.required) break;
  }
}

main().catch((err) => {
  process.stderr.write(`run.js: ${err && err.stack ? err.stack : err}\n`);
  process.exit(2);
});
