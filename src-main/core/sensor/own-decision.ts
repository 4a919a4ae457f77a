import { type DisplayDocument, evaluateLevel, type LevelState, type PanelSensorKind, type PollutantValues } from '@airpanel/contract';

export interface OwnDecisionInputs {
  /** The backend's document on screen, stale. */
  document: DisplayDocument;
  /** The sensor's running EAQI averages, and when the newest reading under them was taken. */
  values: PollutantValues;
  measuredAtMs: number;
  panelId: string;
  sensor: PanelSensorKind;
}

export interface OwnDecision {
  /** The backend's document with the level, readings and content the panel decided. */
  document: DisplayDocument;
  levelId: string;
  sinceWallMs: number;
}

/**
 * Decides the level alone while the backend's document is stale: the document's own scheme,
 * the same `evaluateLevel` with a hysteresis state of its own (seeded with the backend's
 * level, so the hand-over does not jump), and the document's content for that level. The
 * revision stays the backend's: the panel never invents revisions, and the backend's next
 * document replaces this one by the usual rules.
 */
export class OwnLevelDecider {
  private state: LevelState | null = null;
  private basedOn: number | null = null;
  private current: OwnDecision | null = null;

  decide(inputs: OwnDecisionInputs, nowWallMs: number): OwnDecision | null {
    const doc = inputs.document;
    const contentByLevel = doc.contentByLevel;
    if (!contentByLevel) return null; // a document of contract 1.0: no content for other levels
    if (this.basedOn !== doc.revision) {
      this.basedOn = doc.revision;
      this.state = { index: doc.level.index, pending: null };
      this.current = null;
    }
    const evaluation = evaluateLevel(doc.scheme, inputs.values, this.state, inputs.measuredAtMs);
    if (!evaluation) return null; // the sensor measures nothing this scheme has breakpoints for
    this.state = evaluation.state;
    const level = evaluation.level;
    const content = contentByLevel[level.id];
    if (!content) return null;
    const readings = {
      measuredAt: new Date(inputs.measuredAtMs).toISOString(),
      source: `panel:${inputs.panelId}/${inputs.sensor}`,
      values: inputs.values,
      dominant: evaluation.dominant,
    };
    const prev = this.current;
    if (prev && prev.levelId === level.id && JSON.stringify(prev.document.readings) === JSON.stringify(readings)) return prev;
    this.current = {
      document: {
        ...doc,
        level: { id: level.id, label: level.label, index: evaluation.index, of: doc.scheme.levels.length },
        content,
        readings,
      },
      levelId: level.id,
      sinceWallMs: prev?.sinceWallMs ?? nowWallMs,
    };
    return this.current;
  }

  /** The last decision, if one is in force. */
  get active(): OwnDecision | null {
    return this.current;
  }

  /** The backend decides again. Returns the decision that was in force. */
  end(): OwnDecision | null {
    const was = this.current;
    this.current = null;
    this.basedOn = null;
    this.state = null;
    return was;
  }
}
