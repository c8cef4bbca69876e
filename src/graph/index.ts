export { GraphBuilder, type NodeOptions } from './builder.ts';
export { compileGraph, validateGraph, type CompileOptions } from './compile.ts';
export { demoGraphs } from './demos.ts';
export { graphHash } from './hash.ts';
export { builtinKinds, defaultKindRegistry, defineNode, NodeKindRegistry } from './kinds.ts';
export * from './types.ts';
