// swagger-ui-dist ships no types; this is the part of SwaggerUIBundle's options the docs page uses.
declare module 'swagger-ui-dist/swagger-ui-bundle.js' {
  interface SwaggerUIOptions {
    url: string
    domNode: HTMLElement
    deepLinking?: boolean
    docExpansion?: 'list' | 'full' | 'none'
    filter?: boolean
    persistAuthorization?: boolean
    tryItOutEnabled?: boolean
    validatorUrl?: string | null
  }
  const SwaggerUIBundle: (options: SwaggerUIOptions) => unknown
  export default SwaggerUIBundle
}
