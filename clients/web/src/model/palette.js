// Colours for the city model view: categorical palettes per attribute, height bins, fire states.
// Colours are chosen to stay distinguishable for common colour-vision deficiencies where it
// matters most (burning vs burnt vs not reached differ in lightness, not only in hue).

export const UNKNOWN = '#bdbdbd';

export const STRUCTURE = {
  601: '#c98a4b', // 木造・土蔵造
  602: '#35568a', // 鉄骨鉄筋コンクリート造
  603: '#4f79b5', // 鉄筋コンクリート造
  604: '#7fa7d6', // 鉄骨造
  605: '#9cc184', // 軽量鉄骨造
  606: '#a27aa8', // レンガ造・コンクリートブロック造・石造
  610: '#6c9a9b', // 非木造
  611: UNKNOWN, // 不明
};

export const FIREPROOF = { 1001: '#35568a', 1002: '#7fb2e5', 1003: '#e0a458' };

export const USAGE = {
  401: '#5b7fb8', 402: '#d2605a', 403: '#e59a5c', 404: '#d98fb0', 411: '#e8c07d', 412: '#c99552',
  413: '#b5a05e', 414: '#d6b48a', 415: '#9e7a52', 421: '#70a57a', 422: '#4d8f8c', 431: '#7fb8a4',
  441: '#8e7cc3', 451: '#a7c957', 452: '#6a994e', 453: '#9fb3a0', 454: '#8a9aa9', 461: UNKNOWN,
};

// Fallback categorical palette for codes not listed above (deterministic by sorted order).
export const CATEGORICAL = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#86bcb6', '#d37295', '#8cd17d'];

export const HEIGHT_BINS = [
  { lo: 0, hi: 6, c: '#f4e6b8' },
  { lo: 6, hi: 10, c: '#e9bd6b' },
  { lo: 10, hi: 15, c: '#d98545' },
  { lo: 15, hi: 25, c: '#b4543a' },
  { lo: 25, hi: 45, c: '#7d3046' },
  { lo: 45, hi: Infinity, c: '#3e1f47' },
];

// StructureClass of gis/firespread/classes.py: 0 耐火 .. 5 除却
export const FIRE_CLASS = ['#35568a', '#7fb2e5', '#e0a458', '#c0504d', UNKNOWN, '#b9dca0'];

export const FIRE_STATE = {
  unburnt: '#e4dfd3',
  fireproof: '#8ea6c4',
  removed: '#b9dca0',
  burning: '#ff5a1f',
  burnt: '#2b211e',
};

export const CLUSTER = ['#e15759', '#4e79a7', '#f28e2b', '#59a14f', '#b07aa1', '#edc948', '#76b7b2', '#ff9da7', '#9c755f', '#8cd17d', '#d37295', '#499894'];
export const CLUSTER_SINGLE = '#e8e4da';
export const CLUSTER_BARRIER = '#5d6f8a';

export const SELECTED = '#ffe14d';

export function rgb(hex) {
  const n = parseInt(hex.slice(1), 16);
  return [((n >> 16) & 255) / 255, ((n >> 8) & 255) / 255, (n & 255) / 255];
}
