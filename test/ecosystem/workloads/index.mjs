// Every workload of the ecosystem suite, in the order they run. A workload declares:
//   name, what (one line), fast (in the --fast subset), minNode,
//   packages ({ name: exact version }, installed once into the cache), packageJson (extra fields),
//   files ({ relative path: text or ctx => text }, written before each run), outputs (removed before each run),
//   services (['redis', 'pg', 'rabbitmq', 'mariadb', 'memcached']: the env gets REDIS_PORT, PG*, AMQP_URL, MYSQL_URL,
//   MEMCACHE_SERVERS), ports / udpPorts (names of env vars given free ports),
//   setup(ctx) (before the plain run and before recording), command (argv; 'node' is the Node under test),
//   expectStatus (default 0), changeWorld(ctx) (after recording), check(ctx) (after replay: a problem or null),
//   replayArgs (for the replay of the whole run, e.g. ['-p', 'nyc'] when rewind would pick a failed child),
//   timeoutMs (per process run), unavailable(plainRun, ctx) (a reason to skip: the workload cannot run on this machine).
import { SUITES } from './suites.mjs';
import { RUNNERS } from './runners.mjs';
import { SERVICES } from './services.mjs';
import { TOOLS } from './tools.mjs';
import { NETWORK } from './network.mjs';
import { LIBRARIES } from './libraries.mjs';
import { EVERYDAY } from './everyday.mjs';

export const WORKLOADS = [...SUITES, ...RUNNERS, ...NETWORK, ...SERVICES, ...LIBRARIES, ...EVERYDAY, ...TOOLS];
