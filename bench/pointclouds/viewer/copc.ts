// omnidrop's own viewer code (web/src/views/pointcloud.ts) on a plain URL: ?src=<copc file>.
import { copcViewer, rangeGetter } from '../../../web/src/views/pointcloud'

const src = new URLSearchParams(location.search).get('src')!
const box = document.getElementById('view')!
void copcViewer(box, rangeGetter(src, {}), {}, (s) => {
  if (s.firstFrameMs !== null && !document.body.dataset.firstFrameMs) {
    document.body.dataset.firstFrameMs = String(Math.round(performance.now())) // since navigation, like tiles.ts
    document.body.dataset.points = String(s.points)
  }
})
