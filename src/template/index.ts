// `import { … } from 'talki-customer-endpoint/template'`: the framework-free core. The adapters need a
// framework each, so they are imported by their own path ('talki-customer-endpoint/template/express', …).
export * from './customer-route.js'
export * from './map-store.js'
export * from './protocol.js'
export * from './signature.js'
export * from './user-store.js'
