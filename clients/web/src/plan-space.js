// The plan's coordinates in three.js: plan (x, y) in metres, y north -> three (x, h, -y), y up.
// One conversion for everything drawn from assets/cityhall/plan.json (world, signs, the hall).
import { Vector3 } from 'three';

/** plan (x, y) at height h -> three (x, h, -y) */
export const P = (x, y, h = 0) => new Vector3(x, h, -y);
