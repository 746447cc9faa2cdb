# syntax=docker/dockerfile:1
# Build: compile TypeScript with the dev dependencies.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# Run: production dependencies only, as the unprivileged `node` user.
FROM node:24-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY src/mock/dashboard ./src/mock/dashboard
COPY data/seed.json ./data/seed.json
RUN chown -R node:node /app/data
USER node
EXPOSE 3000 3001
# A named volume is filled with data/seed.json on first use; db.json and .secret live here.
VOLUME ["/app/data"]
# Liveness from the admin API's /healthz, which answers even while the endpoint is simulating `down`.
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "require('http').get({host:'127.0.0.1',port:process.env.ADMIN_PORT||3001,path:'/healthz',timeout:2000},r=>process.exit(r.statusCode===200?0:1)).on('error',()=>process.exit(1))"]
# Exec form: node is PID 1 and receives SIGTERM/SIGINT itself; src/mock/main.ts drains and exits on them.
CMD ["node", "dist/mock/main.js"]
