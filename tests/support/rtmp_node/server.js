// The RTMP server of the RTStream tests: node-media-server 2.7.4 (pinned in package-lock.json),
// on 127.0.0.1 only, on the port given (0: any free port).
//
//   node server.js [--port N]
//
// Prints one JSON line per event on stdout, which tests/support/sources.py reads:
//   {"event":"listening","port":N}  {"event":"publish","path":"/live/NAME","id":..}
//   {"event":"unpublish",...}  {"event":"play",...}  {"event":"play_done",...}
// Players of a path that nobody publishes wait (idle) until a publisher comes; when a publisher
// leaves, its players get NetStream.Play.UnpublishNotify and stream EOF, and wait again.
'use strict';

const net = require('net');

const argv = process.argv.slice(2);
const portArg = argv.indexOf('--port');
const wanted = portArg >= 0 ? parseInt(argv[portArg + 1], 10) : 0;

function emit(event, fields) {
  process.stdout.write(JSON.stringify(Object.assign({ event }, fields || {})) + '\n');
}

// node-media-server listens on every interface and cannot take port 0 (it reads 0 as "1935"):
// bind its one TCP server to loopback, on the port asked for, and report the port it got.
const PLACEHOLDER = 1935;
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (port, callback) {
  if (port === PLACEHOLDER || port === wanted) {
    this.once('listening', () => emit('listening', { port: this.address().port }));
    return listen.call(this, { port: wanted, host: '127.0.0.1' }, callback);
  }
  return listen.apply(this, arguments);
};

const NodeMediaServer = require('node-media-server');

const nms = new NodeMediaServer({
  logType: 1, // errors only, on stdout (lines that are not JSON end up in the fixture's log)
  rtmp: { port: wanted || PLACEHOLDER, chunk_size: 60000, gop_cache: true, ping: 30, ping_timeout: 60 },
});

nms.on('postPublish', (id, path) => emit('publish', { id, path }));
nms.on('donePublish', (id, path) => emit('unpublish', { id, path }));
nms.on('postPlay', (id, path) => emit('play', { id, path }));
nms.on('donePlay', (id, path) => emit('play_done', { id, path }));
nms.on('doneConnect', (id) => emit('disconnect', { id }));

process.on('SIGTERM', () => process.exit(0));
nms.run();
