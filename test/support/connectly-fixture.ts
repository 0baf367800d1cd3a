import { ConnectlySimulator } from '../simulator/connectly-simulator';
import { ensureTestTls } from '../simulator/tls';

/** A simulated Connectly on loopback, and the service settings that point at it and trust its CA. */
export async function startConnectly(
  apiKey: string,
): Promise<{ connectly: ConnectlySimulator; env: Record<string, string> }> {
  const tls = await ensureTestTls();
  const connectly = new ConnectlySimulator({ businessId: 'biz_e2e', apiKey });
  await connectly.start();

  // Allowed hosts name a port: without one, only 443 would be allowed.
  const env = {
    CONNECTLY_API_BASE_URL: connectly.baseUrl,
    DOWNLOAD_CA_FILE: tls.caFile,
    DOWNLOAD_ALLOWED_HOSTS: `localhost:${connectly.port}`,
  };
  return { connectly, env };
}
