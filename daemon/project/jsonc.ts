/**
 * jsonc-parser, by its ES module build: the package's main entry is a UMD wrapper whose inner
 * `require`s esbuild cannot follow, so a bundle of it fails at run time ("Cannot find module
 * './impl/format'"). Everything in the daemon imports jsonc-parser from here.
 */
export * from 'jsonc-parser/lib/esm/main.js';
