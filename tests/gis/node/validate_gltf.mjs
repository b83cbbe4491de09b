// Runs the Khronos glTF validator on each GLB given on the command line and prints one JSON
// line per file: {file, errors, warnings, messages: [first few error/warning messages]}.
import { readFileSync } from "node:fs";
import validator from "gltf-validator";

for (const file of process.argv.slice(2)) {
  const data = new Uint8Array(readFileSync(file));
  const report = await validator.validateBytes(data, { maxIssues: 50 });
  const messages = report.issues.messages
    .filter((m) => m.severity <= 1)
    .slice(0, 10)
    .map((m) => `${m.code} ${m.pointer ?? ""} ${m.message}`);
  console.log(JSON.stringify({ file, errors: report.issues.numErrors, warnings: report.issues.numWarnings, messages }));
}
