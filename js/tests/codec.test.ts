import { afterEach, describe, expect, it, vi } from "vitest";
import { decodeSpec } from "../codec";
import {
  decodeBase64,
  leafBytes,
  reviveBuffers,
  SpecError,
  shieldToken,
  toFloat32,
  toInt32,
  unshieldToken,
} from "../leaves";

function b64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
}

function f32le(values: number[]): Uint8Array {
  const dv = new DataView(new ArrayBuffer(values.length * 4));
  values.forEach((v, i) => {
    dv.setFloat32(i * 4, v, true);
  });
  return new Uint8Array(dv.buffer);
}

describe("typed arrays from DataViews", () => {
  it("honours a non-zero byteOffset into a shared buffer", () => {
    const shared = new ArrayBuffer(64);
    new Float32Array(shared).fill(-1);
    const view = new DataView(shared, 16, 12);
    view.setFloat32(0, 1.5, true);
    view.setFloat32(4, Number.NaN, true);
    view.setFloat32(8, -2.25, true);
    const out = toFloat32(view, "values")!;
    expect(out.length).toBe(3);
    expect(out[0]).toBe(1.5);
    expect(Number.isNaN(out[1])).toBe(true);
    expect(out[2]).toBe(-2.25);
    expect(out.buffer).toBe(shared); // aligned: a view, no copy
    expect(out.byteOffset).toBe(16);
  });

  it("copies when the offset is not a multiple of the element size", () => {
    const shared = new ArrayBuffer(32);
    const view = new DataView(shared, 3, 8);
    view.setInt32(0, -7, true);
    view.setInt32(4, 123456789, true);
    const out = toInt32(view, "ids")!;
    expect(Array.from(out)).toEqual([-7, 123456789]);
    expect(out.buffer).not.toBe(shared);
  });

  it("reads typed arrays, ArrayBuffers and null", () => {
    expect(Array.from(toInt32(new Int32Array([4, 5]).buffer, "x")!)).toEqual([4, 5]);
    const sub = new Uint8Array(new Int32Array([9, 8, 7]).buffer, 4, 8);
    expect(Array.from(toInt32(sub, "x")!)).toEqual([8, 7]);
    expect(toFloat32(null, "x")).toBeNull();
    expect(leafBytes(undefined, "x")).toBeNull();
  });

  it("names the field when the byte length does not fit the type", () => {
    expect(() => toFloat32(new DataView(new ArrayBuffer(6)), "matrices[0].values")).toThrow(
      /matrices\[0\]\.values: 6 bytes/,
    );
    expect(() => toFloat32([1, 2], "counts")).toThrow(/counts: expected binary data/);
  });
});

describe("base64 leaves", () => {
  it("decodes with and without padding", () => {
    expect(Array.from(decodeBase64("AAEC/w=="))).toEqual([0, 1, 2, 255]);
    expect(Array.from(decodeBase64("AAEC/w"))).toEqual([0, 1, 2, 255]);
    expect(() => decodeBase64("ab$c")).toThrow(SpecError);
  });

  it("accepts whitespace and stray padding, and names bad characters anywhere", () => {
    expect(Array.from(decodeBase64(" AA\nEC /w=\t="))).toEqual([0, 1, 2, 255]);
    expect(Array.from(decodeBase64("AA==EC/w"))).toEqual([0, 1, 2, 255]);
    expect(() => decodeBase64(`${"A".repeat(4000)}é${"A".repeat(3)}`)).toThrow(
      /characters outside A-Z/,
    );
    // A length that no base64 has (one character left over) is atob's error, as before.
    let error: unknown;
    try {
      decodeBase64("AAAAA");
    } catch (e) {
      error = e;
    }
    expect(error).toBeDefined();
    expect(error).not.toBeInstanceOf(SpecError);
  });
});

describe("the native base64 decoder", () => {
  const U8 = Uint8Array as unknown as { fromBase64?: (text: string) => Uint8Array };
  afterEach(() => {
    delete U8.fromBase64;
  });

  it("is used when the browser has Uint8Array.fromBase64", () => {
    const native = vi.fn(function (this: unknown, text: string) {
      expect(this).toBe(Uint8Array);
      return new Uint8Array(Buffer.from(text, "base64"));
    });
    U8.fromBase64 = native;
    expect(Array.from(decodeBase64("AAEC/w=="))).toEqual([0, 1, 2, 255]);
    expect(native).toHaveBeenCalledTimes(1);
    const view = toFloat32({ $b64: b64(f32le([1.5, -2])) }, "values")!;
    expect(Array.from(view)).toEqual([1.5, -2]);
  });

  it("hands what it rejects to the checked decoder", () => {
    U8.fromBase64 = () => {
      throw new SyntaxError("bad base64");
    };
    expect(Array.from(decodeBase64("AA==EC/w"))).toEqual([0, 1, 2, 255]);
    expect(() => decodeBase64("ab$c")).toThrow(SpecError);
  });

  it("turns {$b64} into DataViews everywhere in a JSON value", () => {
    const revived = reviveBuffers({ a: [{ $b64: b64(f32le([0.5, 2])) }], b: "text", c: null }) as {
      a: DataView[];
      b: string;
      c: null;
    };
    expect(revived.a[0]).toBeInstanceOf(DataView);
    expect(Array.from(toFloat32(revived.a[0], "a")!)).toEqual([0.5, 2]);
    expect(revived.b).toBe("text");
    const live = new DataView(new ArrayBuffer(8), 4);
    expect((reviveBuffers({ v: live }) as { v: DataView }).v).toBe(live);
    expect(revived.c).toBeNull();
  });
});

function minimalSpec(): Record<string, unknown> {
  const i32 = (v: number[]) => ({ $b64: b64(new Uint8Array(new Int32Array(v).buffer)) });
  return {
    version: 1,
    corpora: [{ vocab: ["Ġa", "Ġb"], ids: i32([0, 1, 1]), offsets: i32([0, 2, 3]), names: null }],
    matrices: [
      {
        title: "t",
        value_label: "v",
        shape: [2, 2],
        values: { $b64: b64(f32le([0, 1, Number.NaN, 3])) },
        rows: {
          labels: ["Ġa", "Ġb"],
          kind: "token",
          title: "token",
          tokens: ["Ġa", "Ġb"],
          examples: null,
        },
        cols: { labels: ["x", "y"], kind: "bucket", title: "bucket", tokens: null, examples: null },
        cell_text: null,
        counts: null,
        extras: [],
        scale: {
          palette: "magma",
          kind: "sequential",
          domain: [0, 3],
          center: null,
          reverse: false,
        },
        corpus: 0,
        contexts: {
          n: 1,
          row: i32([1]),
          col: i32([0]),
          example: i32([1]),
          start: i32([0]),
          end: i32([1]),
          start2: null,
          end2: null,
          score_start: null,
          score_end: null,
          scores: null,
          numeric: [],
          labels: [],
        },
      },
    ],
    layout: { columns: 2, cell_size: 16 },
  };
}

describe("decodeSpec", () => {
  it("decodes a complete spec", () => {
    const spec = decodeSpec(reviveBuffers(minimalSpec()));
    const m = spec.matrices[0];
    expect(m.nRows).toBe(2);
    expect(Number.isNaN(m.values[2])).toBe(true);
    expect(m.scale.palette).toBe("magma");
    expect(m.contexts?.n).toBe(1);
    expect(spec.layout).toEqual({ columns: 2, cellSize: 16 });
    expect(Array.from(spec.corpora[0].offsets)).toEqual([0, 2, 3]);
  });

  it("rejects values that do not match the shape, naming the field", () => {
    const raw = minimalSpec();
    (raw.matrices as Record<string, unknown>[])[0].shape = [3, 2];
    expect(() => decodeSpec(reviveBuffers(raw))).toThrow(
      /matrices\[0\]\.values: expected 6 values, got 4/,
    );
  });

  it("rejects an unknown palette with the ones that work", () => {
    const raw = minimalSpec();
    ((raw.matrices as Record<string, unknown>[])[0].scale as Record<string, unknown>).palette =
      "jet";
    expect(() => decodeSpec(reviveBuffers(raw))).toThrow(
      /unknown palette "jet"; use one of viridis/,
    );
  });

  it("rejects offsets that do not end at the number of ids", () => {
    const raw = minimalSpec();
    (raw.corpora as Record<string, unknown>[])[0].offsets = {
      $b64: b64(new Uint8Array(new Int32Array([0, 2, 5]).buffer)),
    };
    expect(() => decodeSpec(reviveBuffers(raw))).toThrow(/corpora\[0\]\.offsets/);
  });

  it("refuses a spec of another version, saying what to do", () => {
    const raw = minimalSpec();
    raw.version = 2;
    expect(() => decodeSpec(reviveBuffers(raw))).toThrow(
      /_spec\.version: this tokenheat front end draws spec version 1, got 2;.*reinstall/,
    );
    delete raw.version;
    expect(() => decodeSpec(reviveBuffers(raw))).toThrow(/got none/);
  });

  it("turns $json leaves (strings holding '<') back into strings, live and from HTML", () => {
    const raw = minimalSpec();
    const hostile = ["<!--", "<script>alert(1)</script>"];
    const bytes = new TextEncoder().encode(JSON.stringify(hostile));
    const m = (raw.matrices as Record<string, unknown>[])[0];
    (m.rows as Record<string, unknown>).labels = { $json: { $b64: b64(bytes) } };
    m.title = { $json: new DataView(new TextEncoder().encode('"<b>t</b>"').buffer) };
    const spec = decodeSpec(reviveBuffers(raw));
    expect(spec.matrices[0].rows.labels).toEqual(hostile);
    expect(spec.matrices[0].title).toBe("<b>t</b>");
  });

  it("names the field of a $json leaf that is not JSON", () => {
    const raw = minimalSpec();
    (raw.matrices as Record<string, unknown>[])[0].title = {
      $json: { $b64: b64(new TextEncoder().encode("{oops")) },
    };
    expect(() => decodeSpec(reviveBuffers(raw))).toThrow(
      /matrices\[0\]\.title: \$json leaf is not valid UTF-8 JSON/,
    );
  });
});

describe("the selected token", () => {
  it("travels as a $json leaf when it holds '<', and reads back from either form", () => {
    expect(shieldToken("Ġthe")).toBe("Ġthe");
    expect(shieldToken(null)).toBeNull();
    const shielded = shieldToken("<!--<script>");
    expect(typeof shielded).toBe("object");
    expect(unshieldToken(shielded)).toBe("<!--<script>");
    expect(unshieldToken("plain")).toBe("plain");
    const b = new TextEncoder().encode('"<b>"');
    expect(unshieldToken({ $json: { $b64: Buffer.from(b).toString("base64") } })).toBe("<b>");
    expect(unshieldToken({ $json: { $b64: "e29vcHM=" } })).toBeNull();
    expect(unshieldToken(3)).toBeNull();
  });
});
