/** /openapi.json generated from the route schemas, and /docs rendering it (Swagger UI, served locally). */
import type { FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { ErrorBody } from '../../api/schemas.js';

export async function registerOpenApi(app: FastifyInstance, version: string): Promise<void> {
  app.addSchema(ErrorBody);
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'aiaas API', version,
        description: 'Upload data, train and tune models, register versions, deploy endpoints. Every route but health, docs and the console needs `Authorization: Bearer <api key>`. Errors are `{"error": {code, message, details}}`.',
      },
      components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer' } } },
      security: [{ apiKey: [] }],
    },
  });
  // The rendered reference is public, like the document it renders.
  await app.register(async (docs) => {
    docs.addHook('onRoute', (route) => {
      route.config = { ...(route.config ?? {}), access: 'public' };
    });
    await docs.register(swaggerUi, { routePrefix: '/docs', staticCSP: true });
  });
  app.get('/openapi.json', { config: { access: 'public' }, schema: { hide: true } }, async () => app.swagger());
}
