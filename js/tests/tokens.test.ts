import { describe, expect, it } from "vitest";
import {
  cellToken,
  contextToken,
  decodeByteLevel,
  displayToken,
  isolate,
  linkKey,
  runningTexts,
  tokenText,
  truncate,
} from "../tokens";

// One expect per input and output throughout, on purpose: the blocks are alike in shape only.
describe("visible whitespace", () => {
  it("marks leading spaces from byte-level BPE and SentencePiece", () => {
    expect(displayToken("Ġthe")).toBe("␣the");
    expect(displayToken("▁the")).toBe("␣the");
    expect(displayToken(" the")).toBe("␣the");
    expect(displayToken("ĠĠ")).toBe("␣␣");
    expect(displayToken("the ")).toBe("the␣");
  });

  it("shows newlines, tabs and control characters", () => {
    expect(displayToken("Ċ")).toBe("⏎");
    expect(displayToken("\n")).toBe("⏎");
    expect(displayToken("ĊĊ")).toBe("⏎⏎");
    expect(displayToken("\t")).toBe("⇥");
    expect(displayToken("ĉ")).toBe("⇥");
    expect(displayToken("a\u0000b")).toBe("a␀b");
    expect(displayToken("")).toBe("∅");
  });

  it("keeps spaces inside a token as spaces", () => {
    expect(displayToken("<img src=x onerror=alert(1)>")).toBe("<img src=x onerror=alert(1)>");
  });

  it("decodes byte-level UTF-8 and leaves other text alone", () => {
    expect(decodeByteLevel("âĢĻ")).toBe("’");
    expect(decodeByteLevel("ĠcafÃ©")).toBe(" café");
    expect(decodeByteLevel("plain")).toBeNull();
    // Every byte printable Latin-1, none remapped: still byte-level when it is UTF-8.
    expect(decodeByteLevel("ç¤º")).toBe("示");
    expect(displayToken("Ġç¤º")).toBe("␣示");
    expect(decodeByteLevel("café")).toBeNull(); // é alone is no UTF-8
    expect(displayToken("naïve")).toBe("naïve");
    // The cases tests/unit/test_altair.py checks for the Python twin.
    expect(displayToken("8 x 48 = 384")).toBe("8 x 48 = 384");
    expect(displayToken("ĠĠa b")).toBe("␣␣a b");
    expect(displayToken("the ")).toBe("the␣");
    expect(decodeByteLevel("Ġâ")).toBeNull(); // an incomplete UTF-8 sequence
    expect(tokenText("Ġâ")).toBe(" â");
    expect(decodeByteLevel("日本")).toBeNull();
    expect(displayToken("日本")).toBe("日本");
  });

  it("keeps spaces as spaces inside running context", () => {
    expect(contextToken("Ġthe")).toBe(" the");
    expect(contextToken("Ċ")).toBe("⏎");
    expect(contextToken("</script>")).toBe("</script>");
  });
});

it("truncates by characters with an ellipsis", () => {
  expect(truncate("abcdef", 4)).toBe("abc…");
  expect(truncate("abc", 4)).toBe("abc");
  expect(truncate("😀😀😀😀😀", 3)).toBe("😀😀…");
});

describe("tokens inside cells", () => {
  it("drop the marker of one leading space, keep every other mark", () => {
    expect(cellToken("ĠParis")).toBe("Paris");
    expect(cellToken("▁the")).toBe("the");
    expect(cellToken("Ġ")).toBe("␣");
    expect(cellToken("ĠĠ")).toBe("␣␣");
    expect(cellToken("Ċ")).toBe("⏎");
    expect(cellToken("the ")).toBe("the␣");
  });
});

describe("link keys", () => {
  it("ignore the space marker, case and punctuation at the ends", () => {
    expect(linkKey("Ġsadly")).toBe("sadly");
    expect(linkKey("▁Sadly")).toBe("sadly");
    expect(linkKey('"Sadly,"')).toBe("sadly");
    expect(linkKey("don't")).toBe("don't");
    expect(linkKey("âĢĻs")).toBe("s"); // "’s": the decoded apostrophe is punctuation
  });

  it("keep tokens made only of punctuation or whitespace apart", () => {
    expect(linkKey(",")).toBe(",");
    expect(linkKey("Ġ,")).toBe(",");
    expect(linkKey("!!")).toBe("!!");
    expect(linkKey("Ġ")).toBe("Ġ");
    expect(linkKey("")).toBe("");
  });
});

describe("running text", () => {
  it("shows a character split over byte-level tokens once, on its first piece", () => {
    expect(runningTexts(["Ġthe", "Ġç¤", "º", "!"])).toEqual([" the", " 示", "", "!"]);
    expect(runningTexts(["Ã", "©", "t", "Ã©"])).toEqual(["é", "", "t", "é"]);
  });

  it("leaves a piece that completes nothing as it is", () => {
    expect(runningTexts(["ç¤", "x"])).toEqual(["ç¤", "x"]);
    expect(runningTexts(["ç¤"])).toEqual(["ç¤"]);
    expect(runningTexts(["Ġthe", "Ċ", "\t"])).toEqual([" the", "⏎", "⇥"]);
  });
});

// The same cases as test_invisible_characters_match_the_front_end in tests/unit/test_hostile.py
// (core/_tokens.py is the Python twin).
describe("invisible characters", () => {
  const cases: [string, string][] = [
    ["a\u200bb", "a·b"],
    ["a\u200cb", "a·b"],
    ["a\u200db", "a·b"],
    ["a\u2060b", "a·b"],
    ["\ufeffx", "·x"],
    ["abc\u202edef", "abc⇄def"],
    ["\u2066x\u2069", "⇄x⇄"],
    ["\u200e\u200f\u061c", "⇄⇄⇄"],
  ];
  it.each(cases)("shows %j as %j", (token, shown) => {
    expect(displayToken(token)).toBe(shown);
  });

  it("isolates a label from its neighbours with FSI … PDI", () => {
    expect(isolate("\u202eabc")).toBe("\u2068\u202eabc\u2069");
  });
});
