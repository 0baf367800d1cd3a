import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import type { BenchOptions } from './options';

export const REPO_ROOT = resolve(__dirname, '..', '..');
export const RESULTS_DIR = join(REPO_ROOT, 'bench', 'results');

/** A target a figure is held to: `value` compared with the figure itself, or with its ratio to the baseline. */
export interface Target {
  readonly op: '<' | '<=' | '>=' | '==';
  readonly value: number;
  readonly of?: 'value' | 'ratio';
}

/** One measured number, with what it is compared against. */
export interface Figure {
  readonly label: string;
  readonly value: number;
  readonly unit: string;
  readonly baseline?: { readonly label: string; readonly value: number };
  readonly target?: Target;
  readonly note?: string;
}

export interface BenchResult {
  readonly name: string;
  readonly smoke: boolean;
  readonly startedAt: string;
  readonly durationS: number;
  /** 1-minute load average before and after: on a shared machine, how much else was running. */
  readonly loadAverage: { readonly start: number; readonly end: number };
  readonly figures: Figure[];
  readonly details: Record<string, unknown>;
}

/** What every benchmark notes as it starts, for its result. */
export interface RunContext {
  readonly startedAt: Date;
  readonly loadAtStart: number;
  readonly options: BenchOptions;
}

/** A benchmark's result: its figures and details, with when it ran, how long it took and the load around it. */
export function benchResult(
  name: string,
  context: RunContext,
  figures: Figure[],
  details: Record<string, unknown>,
): BenchResult {
  return {
    name,
    smoke: context.options.smoke,
    startedAt: context.startedAt.toISOString(),
    durationS: Math.round((Date.now() - context.startedAt.getTime()) / 1000),
    loadAverage: { start: context.loadAtStart, end: loadNow() },
    figures,
    details,
  };
}

export interface Machine {
  readonly cores: number;
  readonly cpu: string;
  readonly memoryGiB: number;
  readonly node: string;
  readonly platform: string;
}

export function machine(): Machine {
  return {
    cores: cpus().length,
    cpu: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 1024 ** 3),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
  };
}

export function ratioOf(figure: Figure): number | undefined {
  if (figure.baseline === undefined || figure.baseline.value === 0) return undefined;
  return figure.value / figure.baseline.value;
}

/** Whether the figure meets its target; undefined when it has none or it cannot be judged. */
export function meets(figure: Figure): boolean | undefined {
  if (figure.target === undefined) return undefined;
  const subject = figure.target.of === 'ratio' ? ratioOf(figure) : figure.value;
  if (subject === undefined || Number.isNaN(subject)) return undefined;

  switch (figure.target.op) {
    case '<':
      return subject < figure.target.value;
    case '<=':
      return subject <= figure.target.value;
    case '>=':
      return subject >= figure.target.value;
    case '==':
      return subject === figure.target.value;
  }
}

/** Writes a result as JSON under bench/results/ (git-ignored) and returns the file's path. */
export function writeResult(name: string, body: unknown): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, `${name}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(body, null, 2)}\n`);
  return file;
}

/** The Markdown table of every figure next to its baseline and target. */
export function markdownTable(results: readonly BenchResult[]): string {
  const rows = results.flatMap((result) => result.figures.map((figure) => row(result.name, figure)));
  return [
    '| benchmark | figure | value | baseline | ratio | target | met |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}

function row(name: string, figure: Figure): string {
  const ratio = ratioOf(figure);
  const baseline =
    figure.baseline === undefined ? '' : `${format(figure.baseline.value, figure.unit)} (${figure.baseline.label})`;
  const met = meets(figure);
  const cells = [
    name,
    figure.note === undefined ? figure.label : `${figure.label} (${figure.note})`,
    format(figure.value, figure.unit),
    baseline,
    ratio === undefined ? '' : ratio.toFixed(2),
    targetText(figure),
    met === undefined ? '' : met ? 'yes' : '**no**',
  ];
  return `| ${cells.join(' | ')} |`;
}

function format(value: number, unit: string): string {
  if (Number.isNaN(value)) return 'n/a';
  return unit === '' ? String(value) : `${value} ${unit}`;
}

function targetText(figure: Figure): string {
  if (figure.target === undefined) return '';
  const subject = figure.target.of === 'ratio' ? 'ratio' : '';
  const unit = figure.target.of === 'ratio' ? '' : ` ${figure.unit}`;
  return `${subject} ${figure.target.op} ${figure.target.value}${unit}`.trim();
}

export function loadNow(): number {
  return Math.round(loadavg()[0] * 100) / 100;
}
