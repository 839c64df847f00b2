/** What the Flink configuration file readers produce. */

/** 'legacy': flink-conf.yaml, Flink's own line parser; 'yaml': config.yaml, standard YAML (Flink 1.19+). */
export type FlinkConfFormat = 'legacy' | 'yaml';

/**
 * How a value reads as a single string in Flink. 'text' is exact: what the JobManager's
 * Configuration#getString returns. The others are YAML values that Flink does not take as one plain
 * value ('list': a sequence, which Flink renders as flow YAML; 'binary', 'collection': explicitly
 * tagged !!binary, !!set, !!omap or !!pairs); their `value` is only an approximation.
 */
export type FlinkValueKind = 'text' | 'list' | 'binary' | 'collection';

export interface FlinkConfEntry {
  /** The flattened key, e.g. 'high-availability.zookeeper.quorum'. */
  readonly key: string;
  readonly value: string;
  readonly kind: FlinkValueKind;
  /** 1-based line of the value (of the key when the value spans nothing). */
  readonly line: number;
  /** 1-based column of the value; null in the legacy format, whose unit is the line. */
  readonly column: number | null;
}

/** A line of flink-conf.yaml that Flink skips (with only a warning in the JobManager's log). */
export interface SkippedLine {
  /** 1-based. */
  readonly line: number;
  /** 'no-separator': no ': ' ('rest.port:8081', or 'rest.port:' with nothing after it); 'empty-key': ': 8081'. */
  readonly reason: 'no-separator' | 'empty-key';
  /** The key the line was presumably meant to set (the text before its first ':'), or null. Never the value. */
  readonly key: string | null;
}

/** A reason Flink refuses the whole file, with where; the description never quotes the file's text. */
export interface FileProblem {
  readonly line: number;
  readonly column: number | null;
  readonly description: string;
}

export interface ParsedFlinkConf {
  /** By key; the last definition of a key wins, as in Flink. */
  readonly entries: ReadonlyMap<string, FlinkConfEntry>;
  /** Legacy format only; always empty for config.yaml. */
  readonly skipped: readonly SkippedLine[];
  /** Empty when Flink would accept the file. */
  readonly problems: readonly FileProblem[];
}
