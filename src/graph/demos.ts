import { sleep } from '../common/async.ts';
import { AppError } from '../common/errors.ts';
import type { JsonObject } from '../common/json.ts';
import { GraphBuilder } from './builder.ts';
import type { NodeKindRegistry } from './kinds.ts';
import { END, type CompiledGraph, type NodeContext } from './types.ts';

/**
 * The demo graphs registered at start. Deterministic (the same input gives the same events and
 * final state) and self-contained: no network, no randomness; durations are simulated with
 * `speed` (a multiplier, 0 for instant).
 */
export function demoGraphs(kinds: NodeKindRegistry): CompiledGraph[] {
  return [codeReview(kinds), contentPipeline(kinds), fanOut(kinds)];
}

const num = (v: unknown, fallback: number): number => (typeof v === 'number' && Number.isFinite(v) ? v : fallback);
const pause = (state: Readonly<JsonObject>, ms: number, ctx: NodeContext): Promise<void> => sleep(Math.round(ms * num(state['speed'], 1)), ctx.signal);

const BRANCHY = /\b(if|for|while|case|catch)\b|&&|\|\||\?/g;
const DECLARATION = /\bfunction\s+([A-Za-z_$][\w$]*)|\b(?:const|let|var)\s+([A-Za-z_$][\w$]*)\s*=\s*(?:async\s*)?(?:\([^)]*\)|[A-Za-z_$][\w$]*)\s*=>|\bdef\s+([A-Za-z_]\w*)/g;

/** code-review: extract → analyze → score, looping through improve until good enough or out of rounds. */
function codeReview(kinds: NodeKindRegistry): CompiledGraph {
  return new GraphBuilder({
    id: 'code-review',
    name: 'Code review',
    description: 'Extracts functions from input.code, scores their complexity, and loops through improve until quality_score >= threshold or max_iterations rounds.',
    state: [
      { key: 'threshold', default: 80 },
      { key: 'max_iterations', default: 3 },
      { key: 'refactors', default: 0 },
      { key: 'suggestions', reducer: 'APPEND', default: [] },
    ],
  })
    .addNode('extract', function extract(state) {
      const code = state['code'];
      if (typeof code !== 'string' || code.trim() === '') throw new AppError('INVALID_INPUT', 'input.code must be a non-empty string of source code');
      const matches = [...code.matchAll(DECLARATION)];
      const functions = matches.map((m, i) => ({
        name: m[1] ?? m[2] ?? m[3] ?? 'anonymous',
        body: code.slice(m.index, matches[i + 1]?.index ?? code.length),
      }));
      return { functions: functions.map((f) => ({ name: f.name, branches: (f.body.match(BRANCHY) ?? []).length })) };
    })
    .addNode('analyze', function analyze(state) {
      const functions = (state['functions'] ?? []) as Array<{ name: string; branches: number }>;
      const refactors = num(state['refactors'], 0);
      const complexity: JsonObject = {};
      for (const f of functions) complexity[f.name] = Math.max(1, 1 + f.branches - 2 * refactors);
      return { complexity };
    }, { maxIterations: 50 })
    .addNode('score', function score(state, ctx) {
      const values = Object.values((state['complexity'] ?? {}) as Record<string, number>);
      const average = values.length === 0 ? 1 : values.reduce((a, b) => a + b, 0) / values.length;
      const quality = Math.max(0, Math.min(100, Math.round(100 - 6 * (average - 1) - (values.length === 0 ? 40 : 0))));
      const threshold = num(state['threshold'], 80);
      const maxIterations = num(state['max_iterations'], 3);
      let decision = 'improve';
      if (quality >= threshold) decision = 'accept';
      else if (ctx.iteration >= maxIterations) {
        decision = 'stop';
        ctx.notice(`max iterations reached (${maxIterations}): quality_score ${quality} is still below threshold ${threshold}`);
      }
      return { quality_score: quality, review_round: ctx.iteration, decision };
    }, { maxIterations: 50 })
    .addNode('improve', function improve(state) {
      const complexity = (state['complexity'] ?? {}) as Record<string, number>;
      const worst = Object.entries(complexity).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0];
      const refactors = num(state['refactors'], 0) + 1;
      return { refactors, suggestions: [`round ${refactors}: simplify ${worst ? worst[0] : 'the code'} (complexity ${worst ? worst[1] : 0})`] };
    }, { maxIterations: 50 })
    .setEntry('extract')
    .addEdge('extract', 'analyze')
    .addEdge('analyze', 'score')
    .addConditionalEdges('score', (state) => (state['decision'] === 'improve' ? 'improve' : END), ['improve', END])
    .addEdge('improve', 'analyze')
    .compile(kinds);
}

const SECTIONS = [
  { id: 'section_writer_intro', title: 'Introduction', ms: 60 },
  { id: 'section_writer_body', title: 'Main body', ms: 90 },
  { id: 'section_writer_conclusion', title: 'Conclusion', ms: 45 },
] as const;

/** content-pipeline: topic → knowledge base → three section writers in parallel → assemble. */
function contentPipeline(kinds: NodeKindRegistry): CompiledGraph {
  const builder = new GraphBuilder({
    id: 'content-pipeline',
    name: 'Content pipeline',
    description: 'Simulated agents: identify the topic, ingest a knowledge base, write sections in parallel, assemble the article. input: {topic, speed?}.',
    state: [{ key: 'sections', reducer: 'APPEND', default: [] }, { key: 'speed', default: 1 }],
  })
    .addNode('topic_identification', async function topicIdentification(state, ctx) {
      const topic = typeof state['topic'] === 'string' && state['topic'].trim() !== '' ? state['topic'].trim() : 'workflow graphs';
      ctx.progress(50, 'reading the brief');
      await pause(state, 40, ctx);
      return { topic, keywords: topic.toLowerCase().split(/\s+/).filter((w) => w.length > 2) };
    })
    .addNode('kb_ingestion', async function kbIngestion(state, ctx) {
      const sources: string[] = [];
      for (let i = 1; i <= 4; i++) {
        await pause(state, 20, ctx);
        sources.push(`kb://${String(state['topic']).replace(/\s+/g, '-')}/doc-${i}`);
        ctx.progress(i * 25, `ingested ${i} of 4 documents`);
      }
      return { sources };
    });
  for (const section of SECTIONS) {
    builder.addNode(section.id, async function writeSection(state, ctx) {
      ctx.progress(0, `drafting ${section.title}`);
      await pause(state, section.ms / 2, ctx);
      ctx.progress(50, `revising ${section.title}`);
      await pause(state, section.ms / 2, ctx);
      ctx.progress(100, `${section.title} done`);
      const words = 120 + section.ms;
      return { sections: [{ id: section.id, title: section.title, words, text: `${section.title} on ${String(state['topic'])}, citing ${(state['sources'] as string[] | undefined)?.length ?? 0} sources.` }] };
    });
  }
  return builder
    .addNode('assemble', function assemble(state) {
      const order: string[] = SECTIONS.map((s) => s.id);
      const sections = [...((state['sections'] ?? []) as Array<{ id: string; title: string; words: number; text: string }>)].sort((a, b) => order.indexOf(a.id) - order.indexOf(b.id));
      return {
        article: { title: `All about ${String(state['topic'])}`, words: sections.reduce((n, s) => n + s.words, 0), body: sections.map((s) => `## ${s.title}\n${s.text}`).join('\n\n') },
      };
    })
    .setEntry('topic_identification')
    .addEdge('topic_identification', 'kb_ingestion')
    .addEdge('kb_ingestion', SECTIONS[0].id)
    .addEdge('kb_ingestion', SECTIONS[1].id)
    .addEdge('kb_ingestion', SECTIONS[2].id)
    .addEdge(SECTIONS.map((s) => s.id), 'assemble')
    .addEdge('assemble', END)
    .compile(kinds);
}

/** fan-out: one start, three branches of different lengths, one join that waits for all. */
function fanOut(kinds: NodeKindRegistry): CompiledGraph {
  const branch = (label: string, f: (x: number) => number, ms: number) =>
    async function fanOutBranch(state: Readonly<JsonObject>, ctx: NodeContext) {
      await pause(state, ms, ctx);
      return { results: [{ branch: label, value: f(num(state['value'], 1)) }] };
    };
  return new GraphBuilder({
    id: 'fan-out',
    name: 'Fan-out and join',
    description: 'Parallel branches of different lengths and a join that waits for all of them. input: {value, speed?}.',
    state: [{ key: 'results', reducer: 'APPEND', default: [] }, { key: 'value', default: 1 }, { key: 'speed', default: 1 }],
  })
    .addNode('start', function start(state) {
      return { value: num(state['value'], 1) };
    })
    .addNode('branch_a', branch('a', (x) => x * 2, 30))
    .addNode('branch_b', branch('b', (x) => x + 10, 10))
    .addNode('branch_c', branch('c', (x) => x * x, 20))
    .addNode('branch_c_refine', branch('c2', (x) => x * x + 1, 20))
    .addNode('join', function join(state) {
      const results = (state['results'] ?? []) as Array<{ branch: string; value: number }>;
      return { total: results.reduce((sum, r) => sum + r.value, 0), branches: results.map((r) => r.branch).sort() };
    })
    .setEntry('start')
    .addEdge('start', 'branch_a')
    .addEdge('start', 'branch_b')
    .addEdge('start', 'branch_c')
    .addEdge('branch_c', 'branch_c_refine')
    .addEdge(['branch_a', 'branch_b', 'branch_c_refine'], 'join')
    .addEdge('join', END)
    .compile(kinds);
}
