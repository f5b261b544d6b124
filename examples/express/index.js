// A plain Express app: nothing in it knows about Lambda.
//
// In the image, lambda-adapter is the ENTRYPOINT and this app its CMD (wrapper
// mode): on Lambda the adapter starts a helper that turns invocations into
// HTTP requests to 127.0.0.1:$PORT, then replaces itself with `node index.js`;
// anywhere else it just execs `node index.js`.
//
// Routes (the same in every example, so scripts/e2e.sh checks them all alike):
//   GET  /          a greeting, text/plain
//   GET  /query     the raw query string and its [key, value] pairs in order
//   POST /json      the JSON body parsed and sent back, with its content type
//   GET  /binary    1024 bytes, 0..255 four times, application/octet-stream
//   GET  /cookies   three Set-Cookie headers
//   POST /echo      the request body, byte for byte, with the request's content type
//   GET  /error     an unhandled exception: the framework's own 500
//   GET  /pid       this process's ID (wrapper mode keeps the PID Lambda started)
//   anything else   the framework's own 404
//
// Run: PORT=8080 node index.js
const express = require('express');

const app = express();
const port = Number(process.env.PORT || 8080);

app.get('/', (req, res) => {
  res.type('text/plain').send('Hello from Express\n');
});

app.get('/query', (req, res) => {
  const raw = req.originalUrl.includes('?') ? req.originalUrl.slice(req.originalUrl.indexOf('?') + 1) : '';
  res.json({
    raw,
    pairs: [...new URLSearchParams(raw)],
    // set by lambda-adapter: the Lambda event's requestContext
    via_lambda: 'x-amzn-request-context' in req.headers,
  });
});

app.post('/json', express.json(), (req, res) => {
  res.json({ received: req.body, content_type: req.get('content-type') });
});

app.get('/binary', (req, res) => {
  const bytes = Buffer.alloc(1024);
  for (let i = 0; i < bytes.length; i++) bytes[i] = i % 256;
  res.type('application/octet-stream').send(bytes);
});

app.get('/cookies', (req, res) => {
  res.cookie('session', 'abc123', { httpOnly: true });
  res.cookie('theme', 'dark', { path: '/' });
  res.cookie('lang', 'en', { maxAge: 3600 * 1000 });
  res.type('text/plain').send('three cookies\n');
});

app.post('/echo', express.raw({ type: () => true, limit: '6mb' }), (req, res) => {
  res.type(req.get('content-type') || 'application/octet-stream').send(req.body);
});

app.get('/error', () => {
  throw new Error('an error the app did not handle');
});

app.get('/pid', (req, res) => {
  res.json({ pid: process.pid });
});

const server = app.listen(port, () => console.log(`listening on port ${port}`));

// Lambda (and ECS, and `docker stop`) send SIGTERM before stopping the
// sandbox; in wrapper mode it reaches this process directly.
process.on('SIGTERM', () => {
  console.log('SIGTERM: closing the server');
  server.close(() => process.exit(0));
});
