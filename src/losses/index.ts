/** Contrastive losses with exact gradients: score × loss × reduction, plus miners and ALBEF's pieces. */
export * from "./albef.js";
export * from "./clip.js";
export * from "./landscape.js";
export * from "./nce.js";
export * from "./pair.js";
export * from "./scores.js";
export * from "./siglip.js";
export * from "./supcon.js";
export * from "./triplet.js";
