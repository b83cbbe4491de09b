// Loading a dataset's 3D Tiles into a view. The tileset's root transform places the dataset's
// local frame (x east, y north, z up, metres) on the globe; we undo it so the district sits flat
// at the origin (three.js y-up). Every vertex carries its building's feature id (_FEATURE_ID_0 =
// row in buildings.npz = index of the simulation arrays), so recolouring writes vertex colours
// from a per-feature table and no geometry is downloaded again. Attributes for the colour modes
// come from each tile's EXT_structural_metadata property table.
import * as THREE from 'three';
import { TilesRenderer } from '3d-tiles-renderer';
import { GLTFExtensionsPlugin } from '3d-tiles-renderer/plugins';
import { apiJson } from '../api.js';
import { toWorld } from './camera.js';
import { meshFids, resizeArrays } from './paint.js';

/** Load ``V.S.ds``: meta, tiles, ground. ``V``: the view's scene parts (view.js). False when the
 * view asked for another district meanwhile (nothing of this one is kept). */
export async function loadTiles(V) {
  const S = V.S, ds = S.ds;
  const meta = await apiJson(`/api/datasets/${encodeURIComponent(ds)}`);
  const tsUrl = `/datasets/${encodeURIComponent(ds)}/tileset.json`;
  const tileset = await apiJson(tsUrl);
  if (S.ds !== ds) return false;
  S.meta = meta;
  S.credit = S.meta.credit || null;
  resizeArrays(S, S.meta.counts.buildings);
  const rootM = new THREE.Matrix4();
  if (Array.isArray(tileset.root.transform)) rootM.fromArray(tileset.root.transform);
  const tiles = new TilesRenderer(tsUrl);
  tiles.registerPlugin(new GLTFExtensionsPlugin({ metadata: true, rtc: true }));
  tiles.errorTarget = 2;
  tiles.group.matrixAutoUpdate = false;
  tiles.group.matrix.copy(new THREE.Matrix4().makeRotationX(-Math.PI / 2).multiply(rootM.clone().invert()));
  tiles.group.matrixWorldNeedsUpdate = true;
  tiles.setCamera(V.camera);
  tiles.setResolutionFromRenderer(V.camera, V.renderer);
  tiles.addEventListener('load-model', (ev) => onTile(V, ev.scene));
  tiles.addEventListener('dispose-model', (ev) => {
    const gone = new Set();
    ev.scene?.traverse((o) => { if (o.isMesh) gone.add(o); });
    S.meshes = S.meshes.filter((m) => !gone.has(m));
    V.emit('tiles');
  });
  tiles.addEventListener('load-tile-set', () => { S.tilesetReady = true; });
  tiles.addEventListener('tiles-load-end', () => { V.dirty(); V.emit('tiles'); }); // now in the scene graph
  V.scene.add(tiles.group);
  V.tiles = tiles;
  addGround(V);
  return true;
}

function addGround(V) {
  const e = V.S.meta.extent;
  const lo = e.local_min, hi = e.local_max;
  const size = Math.max(hi[0] - lo[0], hi[1] - lo[1]) * 3 + 200;
  const geo = new THREE.PlaneGeometry(size, size);
  geo.rotateX(-Math.PI / 2);
  V.ground = new THREE.Mesh(geo, new THREE.MeshLambertMaterial({ color: 0xd8d4c8 }));
  V.ground.position.copy(toWorld((lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2, lo[2] - 0.3));
  V.scene.add(V.ground);
}

/** Drop the dataset's tiles and ground (switching datasets, or the view's end). */
export function unloadTiles(V) {
  if (V.tiles) {
    V.scene.remove(V.tiles.group);
    V.tiles.dispose();
    V.tiles = null;
  }
  if (V.ground) {
    V.scene.remove(V.ground);
    V.ground.geometry.dispose();
    V.ground.material.dispose();
    V.ground = null;
  }
}

function onTile(V, tileScene) {
  const S = V.S;
  const meta = tileScene.userData.structuralMetadata;
  tileScene.traverse((o) => {
    if (!o.isMesh) return;
    const g = o.geometry;
    const f0 = g.getAttribute('_feature_id_0');
    if (!f0) return;
    const f1 = g.getAttribute('_feature_id_1');
    const fids = meshFids(o);
    let maxId = 0;
    const localOf = new Map();
    for (let i = 0; i < fids.length; i++) {
      const fid = fids[i];
      if (fid > maxId) maxId = fid;
      if (!localOf.has(fid)) localOf.set(fid, f1 ? Math.round(f1.getX(i)) : -1);
    }
    resizeArrays(S, maxId + 1);
    for (const [fid, local] of localOf) {
      S.seen.add(fid);
      if (meta && local >= 0 && !S.attrs[fid]) {
        try { S.attrs[fid] = meta.getPropertyTableData(0, local); } catch { /* no metadata: attributes stay unknown */ }
      }
    }
    g.setAttribute('color', new THREE.BufferAttribute(new Float32Array(f0.count * 3), 3));
    g.setAttribute('colorB', new THREE.BufferAttribute(new Float32Array(f0.count * 3), 3));
    o.material = V.material;
    S.meshes.push(o);
  });
  S.tilesLoaded++;
  V.recolour();
  V.emit('tiles');
}
