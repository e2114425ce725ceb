'use strict';
// nedb #609, second test hit by it: ensureIndex({ unique: true }) appends its index line to
// the datafile in the background. nedb's test then writes a datafile that violates the unique
// constraint and expects loadDatabase to refuse it for that reason. When the append lands
// between the write and the load's read, the index line is glued to the last document's line
// and the load fails for another reason (a corrupt datafile) instead.
const fs = require('fs');
const os = require('os');
const path = require('path');
const Datastore = require('nedb');
const model = require('nedb/lib/model');

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nedb-609-unique-'));
const testDb = path.join(dir, 'test.db');
const finish = (code, line) => {
  fs.rmSync(dir, { recursive: true, force: true });
  console.log(line);
  process.exit(code);
};

const d = new Datastore({ filename: testDb });
d.loadDatabase((err) => {
  if (err) return finish(2, `setup failed: ${err.message}`);
  const now = new Date();
  const rawData =
    model.serialize({ _id: 'aaa', z: '1', a: 2, ages: [1, 5, 12] }) +
    '\n' +
    model.serialize({ _id: 'bbb', z: '2', hello: 'world' }) +
    '\n' +
    model.serialize({ _id: 'ccc', z: '1', nested: { today: now } });

  d.ensureIndex({ fieldName: 'z', unique: true });
  fs.writeFile(testDb, rawData, 'utf8', () => {
    d.loadDatabase((err) => {
      if (!err || err.errorType !== 'uniqueViolated' || err.key !== '1' || d.getAllData().length !== 0) {
        const got = err ? err.errorType || err.message.split(',')[0] : 'no error';
        return finish(
          1,
          `FAIL: loadDatabase of a datafile violating the unique index: ${got} (expected uniqueViolated)`,
        );
      }
      finish(0, 'ok');
    });
  });
});
