// Rebuild src/custseg/report/templates/plotly-custseg.min.js: plotly.js with only the trace
// types listed in src/custseg/report/plotly_bundle.toml, the way plotly.js documents partial
// bundles (plotly.js/lib/core + Plotly.register), bundled and minified by esbuild.
//
//     node scripts/build_plotly_bundle.mjs
//
// Needs node and npm (and python3 >= 3.11 to read the TOML) only here, never to install or run
// custseg: the built file is committed. npm installs the pinned versions into a temporary
// folder, removed afterwards; nothing is written to the repository but the bundle.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const configPath = join(repo, 'src/custseg/report/plotly_bundle.toml');
const outPath = join(repo, 'src/custseg/report/templates/plotly-custseg.min.js');
const command = 'node scripts/build_plotly_bundle.mjs';

const config = JSON.parse(execFileSync(process.env.PYTHON || 'python3', [
    '-c', 'import json, sys, tomllib; print(json.dumps(tomllib.load(open(sys.argv[1], "rb"))))', configPath,
]).toString());
const traces = [...config.traces].sort();

const work = mkdtempSync(join(tmpdir(), 'plotly-bundle-'));
try {
    writeFileSync(join(work, 'package.json'), JSON.stringify({ private: true }));
    execFileSync('npm', ['install', '--save-exact', '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error',
        `plotly.js@${config.plotly_js}`, `esbuild@${config.esbuild}`], { cwd: work, stdio: 'inherit' });
    const require = createRequire(join(work, 'package.json'));
    const plotlyDir = dirname(require.resolve('plotly.js/package.json'));
    const version = require('plotly.js/package.json').version;
    if (version !== config.plotly_js) throw new Error(`npm installed plotly.js ${version}, not ${config.plotly_js}`);

    // The entry point plotly.js's own partial bundles use: the core (scatter included), then each trace module.
    const entry = join(work, 'entry.js');
    writeFileSync(entry, [
        "'use strict';",
        "var Plotly = require('plotly.js/lib/core');",
        `Plotly.register([${traces.map((t) => `require('plotly.js/lib/${t}')`).join(', ')}]);`,
        'module.exports = Plotly;',
        '',
    ].join('\n'));

    // plotly.js's licence header, as its own dist files start.
    const licence = readFileSync(join(plotlyDir, 'dist/plotly.js'), 'utf8').match(/^\/\*\*[\s\S]*?\*\//)[0];
    const first = `/* custseg: plotly.js v${version}, trace types ${traces.join(', ')}; built by \`${command}\`` +
        ` (esbuild ${config.esbuild}) from src/custseg/report/plotly_bundle.toml */`;

    const esbuild = require('esbuild');
    await esbuild.build({
        entryPoints: [entry],
        outfile: outPath,
        bundle: true,
        minify: true,
        format: 'iife',
        globalName: 'Plotly',
        target: 'es2016',
        // as plotly.js's esbuild-config.js
        define: { global: 'window', 'define.amd': 'false' },
        alias: { regl: '@plotly/regl', stream: 'stream-browserify' },
        // registry.js requires maplibre's CSS when a map trace is registered; none is here
        loader: { '.css': 'empty' },
        plugins: [stripMetaAttributes(join(plotlyDir, 'src') + sep)],
        banner: { js: `${first}\n${licence}` },
        legalComments: 'eof',
        logLevel: 'warning',
    });
    const size = readFileSync(outPath).length;
    console.log(`wrote ${relative(repo, outPath)}: ${(size / 1e6).toFixed(2)} MB, plotly.js ${version}, ${traces.join(', ')}`);
} finally {
    rmSync(work, { recursive: true, force: true });
}

/**
 * Drop the attribute descriptions (and role, hrName, requiredOpts, otherOpts), as plotly.js's own
 * dist build does: they document the schema and are never read when drawing. Only plotly.js's
 * source files, where these keys are written one way (`key: '...'` on one line, or an array
 * joined), are touched.
 */
function stripMetaAttributes(srcDir) {
    const pattern = (key, value) => new RegExp(`\\s*${key}: ${value},?`, 'g');
    const patterns = [
        pattern('description', "\\[[\\s\\S]*?\\]\\.join\\([\\s\\S]*?\\)"),
        pattern('description', "'.*'"),
        pattern('requiredOpts', '\\[[\\s\\S]*?\\]'),
        pattern('otherOpts', '\\[[\\s\\S]*?\\]'),
        pattern('role', "'.*'"),
        pattern('hrName', "'.*'"),
    ];
    return {
        name: 'strip-meta-attributes',
        setup(build) {
            build.onLoad({ filter: /\.js$/ }, (args) => {
                if (!args.path.startsWith(srcDir)) return undefined;
                let text = readFileSync(args.path, 'utf8');
                for (const p of patterns) text = text.replace(p, '');
                return { contents: text, loader: 'js' };
            });
        },
    };
}
