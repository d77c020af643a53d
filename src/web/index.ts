// The dashboard's public surface for the service: `registerDashboard` serves the static build
// (dist/web/public, made by `npm run build`) at `/`. The pages hold no data: everything they show
// is read from the API with the user's key, so these routes are open like /health, and a visitor
// without a key gets the login form and nothing else (R-SVC-5, R-SEC-5).
export { registerDashboard, dashboardRoot, type DashboardOptions } from './static.js';
