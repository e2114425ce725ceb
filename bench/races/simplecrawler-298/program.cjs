'use strict';
// simplecrawler #298: after a gzipped page is downloaded, the crawler counts the request as
// done and only then unzips it (zlib, on the thread pool) to find its links. A crawl tick that
// comes before the unzip finishes sees no open request and an empty queue, emits "complete"
// and stops: the pages the first page links to are never fetched.
const http = require('http');
const zlib = require('zlib');
const Crawler = require('simplecrawler');

const PAGES = ['/a.html', '/b.html', '/c.html'];
const index = zlib.gzipSync(`<html><body>${PAGES.map((p) => `<a href="${p}">${p}</a>`).join(' ')}</body></html>`);

const server = http.createServer((req, res) => {
  if (req.url === '/') {
    res.writeHead(200, { 'Content-Type': 'text/html', 'Content-Encoding': 'gzip' });
    res.end(index);
  } else {
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.end(`page ${req.url}`);
  }
});

server.listen(0, '127.0.0.1', () => {
  const crawler = new Crawler('127.0.0.1', '/', server.address().port, 20);
  const fetched = [];
  crawler.on('fetchcomplete', (item) => fetched.push(item.path));
  crawler.on('complete', () => {
    server.close();
    crawler.stop();
    if (fetched.length !== PAGES.length + 1) {
      console.log(`FAIL: crawl completed after ${fetched.length} of ${PAGES.length + 1} pages (${fetched.join(' ')})`);
      process.exit(1);
    }
    console.log('ok');
  });
  crawler.start();
});
