// The API reference at /docs: Swagger UI over omnidrop's own /openapi.json, bundled from npm
// (swagger-ui-dist) so it works without any CDN or network access.
import SwaggerUIBundle from 'swagger-ui-dist/swagger-ui-bundle.js'
import 'swagger-ui-dist/swagger-ui.css'

const root = document.getElementById('swagger-ui') as HTMLElement

SwaggerUIBundle({
  url: root.dataset.specUrl ?? '/openapi.json',
  domNode: root,
  deepLinking: true,
  // Operations start folded, grouped by surface (tag); the filter box finds a route by path or tag.
  docExpansion: 'list',
  filter: true,
  persistAuthorization: true,
  tryItOutEnabled: false,
  // Swagger UI would fetch its validator badge from validator.swagger.io: offline, nothing leaves.
  validatorUrl: null,
})
