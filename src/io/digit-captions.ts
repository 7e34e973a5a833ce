/** Captions for MNIST digits (browser-safe: used by the built-in data set and the training experiments). */

/** English number words, index = digit. */
export const NUMBERS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"];
/** Caption templates for a digit; the first is also the zero-shot prompt. */
export const CAPTION_TEMPLATES = [
  (d: number) => `a photo of the digit ${NUMBERS[d]}`,
  (d: number) => `a handwritten ${d}`,
  (d: number) => `the number ${NUMBERS[d]} written by hand`,
  (d: number) => `a scan of a ${NUMBERS[d]}`,
  (d: number) => `digit ${d} in black and white`,
];

/** One prompt per digit, for zero-shot classification: "a photo of the digit zero", … */
export const DIGIT_PROMPTS = NUMBERS.map((_, d) => CAPTION_TEMPLATES[0](d));
