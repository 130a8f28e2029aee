// Validate files of format=speedscope against speedscope's published
// file format schema (file-format-schema.json of the speedscope release,
// the one https://www.speedscope.app/file-format-schema.json serves),
// with ajv, both from npm in build/npm (make -f apxs.mk npm).
//
// The schema checks types and required members; it cannot say what
// speedscope's importer also relies on, so that is checked here too:
// as many weights as samples, every frame index in the shared frames,
// weights not negative, and every profile's samples fitting between its
// startValue and endValue.
//
// Usage: node tests/speedscope_schema.js NPM_DIR FILE...
// Prints one line per file; exits 1 when any file fails, 2 on bad use.

'use strict';

const fs = require('fs');
const path = require('path');

if (process.argv.length < 4) {
    console.error('usage: node speedscope_schema.js NPM_DIR FILE...');
    process.exit(2);
}

const modules = path.resolve(process.argv[2], 'node_modules');
const Ajv = require(path.join(modules, 'ajv'));
const schemaPath = path.join(modules, 'speedscope', 'dist', 'release',
                             'file-format-schema.json');
const schema = JSON.parse(fs.readFileSync(schemaPath, 'utf8'));
// strict: false, since the schema (generated from TypeScript) carries
// "title" beside "$ref", which ajv's strict mode refuses.
const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);

// What speedscope's importer needs beyond the schema; [] when all holds.
function importable(doc) {
    const problems = [];
    const nframes = doc.shared.frames.length;

    doc.profiles.forEach((p, i) => {
        if (p.type !== 'sampled') {
            return;
        }
        if (p.samples.length !== p.weights.length) {
            problems.push(`profile ${i}: ${p.samples.length} samples, ` +
                          `${p.weights.length} weights`);
        }
        p.samples.forEach((stack, k) => {
            if (stack.some(f => !Number.isInteger(f) || f < 0
                                || f >= nframes)) {
                problems.push(`profile ${i} sample ${k}: a frame index ` +
                              `not in the ${nframes} frames`);
            }
        });
        if (p.weights.some(w => w < 0)) {
            problems.push(`profile ${i}: a negative weight`);
        }
        const sum = p.weights.reduce((a, w) => a + w, 0);
        if (sum > p.endValue - p.startValue) {
            problems.push(`profile ${i}: weights ${sum} past its span ` +
                          `${p.startValue}..${p.endValue}`);
        }
    });
    if (doc.activeProfileIndex !== undefined
        && !(doc.activeProfileIndex >= 0
             && doc.activeProfileIndex < doc.profiles.length)) {
        problems.push(`activeProfileIndex ${doc.activeProfileIndex} ` +
                      `names no profile`);
    }
    return problems;
}

let failed = 0;
for (const file of process.argv.slice(3)) {
    let doc;
    try {
        doc = JSON.parse(fs.readFileSync(file, 'utf8'));
    }
    catch (e) {
        console.log(`${file}: not JSON: ${e.message}`);
        failed++;
        continue;
    }
    if (!validate(doc)) {
        const errors = validate.errors.slice(0, 10).map(
            e => `${e.instancePath || '/'} ${e.message}`);
        console.log(`${file}: invalid: ${errors.join('; ')}`);
        failed++;
        continue;
    }
    const problems = importable(doc);
    if (problems.length) {
        console.log(`${file}: valid, not importable: ` +
                    problems.slice(0, 10).join('; '));
        failed++;
        continue;
    }
    console.log(`${file}: valid (${doc.profiles.length} profiles, ` +
                `${doc.shared.frames.length} frames)`);
}
process.exit(failed ? 1 : 0);
