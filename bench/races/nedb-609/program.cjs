'use strict';
// nedb #609: ensureIndex() looks synchronous but persists the index by appending to the
// datafile in the background. nedb's own test writes the datafile and loads it right after
// ensureIndex; when the append lands between the write and the load's read, the index line
// is glued to the last document's line, the load sees a corrupt datafile and drops data.
const fs = require('fs');
const os = require('os');
const path = require('path');
const Datastore = require('nedb');
const model = require('nedb/lib/model');

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nedb-609-'));
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
    model.serialize({ _id: 'ccc', z: '3', nested: { today: now } });

  d.ensureIndex({ fieldName: 'z' });
  fs.writeFile(testDb, rawData, 'utf8', () => {
    d.loadDatabase((err) => {
      const n = d.getAllData().length;
      const indexed = d.indexes.z.tree.getNumberOfKeys();
      if (err || n !== 3 || indexed !== 3) {
        return finish(
          1,
          `FAIL: loadDatabase after ensureIndex: ${err ? err.message.split(',')[0] : `${n} documents, ${indexed} index keys`} (expected 3)`,
        );
      }
      finish(0, 'ok');
    });
  });
});
