// Reads every table of a data package with the Node `datapackage` library (the JavaScript implementation of
// the standard). Prints JSON: {"tables": {name: [row, ...]}, "foreign_keys": {name: "ok" or the error}}.
const {Package} = require('datapackage');

async function main(path) {
  const pkg = await Package.load(path);
  if (!pkg.valid) throw new Error(`the descriptor is invalid: ${pkg.errors.map(e => e.message).join('; ')}`);
  const out = {tables: {}, foreign_keys: {}};
  for (const resource of pkg.resources) {
    if (!resource.tabular) continue;  // a file published beside the tables (the annotations)
    out.tables[resource.name] = await resource.read({keyed: true});
    try {
      await resource.read({relations: true});
      out.foreign_keys[resource.name] = 'ok';
    } catch (error) {
      out.foreign_keys[resource.name] = String(error.message || error);
    }
  }
  process.stdout.write(JSON.stringify(out));
}

main(process.argv[2]).catch(error => { console.error(String(error.stack || error)); process.exit(1); });
