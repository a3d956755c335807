// The integration suites, one import per file. Loaded by index.ts once mocha's describe/it exist.
import './smoke.test';
import './tree.test';
import './remotes.test';
import './mounts.test';
import './approval.test';
import './commands.test';
import './walk.test';
import './models.test';
import './bringup.test';
import './team.test';
import './faults.test';
import './copyMode.test';
import './install.test';
