import { describe, expect, it } from 'vitest';
import {
  DEFAULT_FRAME_BUDGETS,
  frameCount,
  planUnion,
  sampleSourceIndices,
  SAMPLING_POLICY_VERSION,
} from './sampling.js';
import { selectExpression } from './frame-source.js';

const cfr = (n: number, fps: number, start = 0) =>
  Float64Array.from({ length: n }, (_, i) => start + i / fps);

describe('sampling policy sp_v1', () => {
  it('is versioned', () => expect(SAMPLING_POLICY_VERSION).toBe('sp_v1'));

  it('counts frames by target per minute, clamped to [min, max] and to the frames that exist', () => {
    const budget = { min: 400, targetPerMinute: 900, max: 1500 };
    expect(frameCount(budget, 60, 1800)).toBe(900);
    expect(frameCount(budget, 10, 250)).toBe(250); // min 400 > frames that exist
    expect(frameCount(budget, 20, 600)).toBe(400); // 300 wanted → min 400
    expect(frameCount(budget, 600, 18000)).toBe(1500); // 9000 wanted → max
  });

  it('spaces indices evenly in time, strictly increasing, first and last frame included', () => {
    const idx = sampleSourceIndices(cfr(1000, 25), 100);
    expect(idx).toHaveLength(100);
    expect(idx[0]).toBe(0);
    expect(idx[99]).toBe(999);
    for (let k = 1; k < idx.length; k += 1)
      expect((idx[k] ?? 0) - (idx[k - 1] ?? 0)).toBeGreaterThanOrEqual(10);
  });

  it('follows presentation time on variable frame rate: dense regions get proportionally fewer picks', () => {
    // 100 frames over the first second, then 10 frames over the next 9 seconds.
    const ts = Float64Array.from([
      ...Array.from({ length: 100 }, (_, i) => i / 100),
      ...Array.from({ length: 10 }, (_, i) => 1 + (i + 1) * 0.9),
    ]);
    const idx = sampleSourceIndices(ts, 11);
    const times = Array.from(idx, (i) => ts[i] ?? 0);
    // Evenly spaced in time ≈ one per 0.99 s: at most two picks in the first second.
    expect(times.filter((t) => t < 1).length).toBeLessThanOrEqual(2);
    expect(new Set(idx).size).toBe(11);
  });

  it('gives the SPEC default components distinct counts on a 60 s, 30 fps video', () => {
    const plan = planUnion(cfr(1800, 30), 60, new Map(Object.entries(DEFAULT_FRAME_BUDGETS)));
    const counts = Object.fromEntries(
      [...plan.perComponent].map(([name, p]) => [name, p.sourceIndices.length]),
    );
    expect(counts).toEqual({
      cut_detection: 900,
      core_clip: 300,
      core_depth_midas: 150,
      core_face_landmarks: 400,
      shot_quality: 500,
    });
    expect(new Set(Object.values(counts)).size).toBe(5);
    expect(plan.unionSource.length).toBeGreaterThanOrEqual(900);
    expect(plan.unionSource.length).toBeLessThanOrEqual(1800);
  });

  it('builds the union and maps each component into it', () => {
    const ts = cfr(500, 25);
    const plan = planUnion(
      ts,
      20,
      new Map([
        ['a', { min: 10, targetPerMinute: 30, max: 100 }],
        ['b', { min: 50, targetPerMinute: 60, max: 100 }],
      ]),
    );
    const a = plan.perComponent.get('a');
    const b = plan.perComponent.get('b');
    expect(a?.sourceIndices).toHaveLength(10);
    expect(b?.sourceIndices).toHaveLength(50);
    const expected = [...new Set([...(a?.sourceIndices ?? []), ...(b?.sourceIndices ?? [])])].sort(
      (x, y) => x - y,
    );
    expect(Array.from(plan.unionSource)).toEqual(expected);
    for (const p of [a, b])
      p?.unionIndices.forEach((u, k) => expect(plan.unionSource[u]).toBe(p.sourceIndices[k]));
  });
});

describe('select expression', () => {
  /** Evaluates the generated ffmpeg expression (eq / between / if(lt(…))) for one n. */
  function evaluate(expr: string, n: number): boolean {
    let at = 0;
    const num = (): number => {
      const m = /^\d+/.exec(expr.slice(at));
      at += m?.[0].length ?? 0;
      return Number(m?.[0]);
    };
    const eat = (text: string): void => {
      if (!expr.startsWith(text, at)) throw new Error(`expected ${text} at ${at}`);
      at += text.length;
    };
    const parse = (): boolean => {
      if (expr.startsWith('eq(n,', at)) {
        eat('eq(n,');
        const a = num();
        eat(')');
        return n === a;
      }
      if (expr.startsWith('between(n,', at)) {
        eat('between(n,');
        const a = num();
        eat(',');
        const b = num();
        eat(')');
        return n >= a && n <= b;
      }
      eat('if(lt(n,');
      const x = num();
      eat('),');
      const left = parse();
      eat(',');
      const right = parse();
      eat(')');
      return n < x ? left : right;
    };
    return parse();
  }

  it('is true exactly on the wanted indices', () => {
    const wanted = Int32Array.from([0, 1, 2, 7, 9, 10, 11, 50, 99]);
    const expr = selectExpression(wanted);
    for (let n = 0; n < 120; n += 1) expect(evaluate(expr, n), String(n)).toBe(wanted.includes(n));
  });
});
