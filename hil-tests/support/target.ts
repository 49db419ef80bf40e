/**
 * The HIL suite's fixture: the same one a user's suite gets (host/src/mocha/, the package's
 * `componentvm-hil/mocha` entry). The runner (`hil test`) holds the target under test: named by
 * --target, --board or the config file's default, brought to ready by the one strategy, prepared
 * before every test (a fresh hello after a reset or a link error, reset_pool), and handed to the
 * suite through root hooks it builds itself. Tests read the limits from hello, so they hold for any
 * build configuration.
 */
export { openExtraTarget, target, type TargetContext } from '../../host/src/mocha/index.js';

/**
 * Targets whose unique id is derived and always readable (12 bytes), by the tag it begins with:
 * then a number n big-endian, then NOT n big-endian (TwinDeviceOptions.uniqueId, firmware/README.md).
 */
export const DERIVED_ID_TAGS: Readonly<Record<string, string>> = { twin: 'TWIN', 'twin-pty': 'TWIN', sim: 'sim-' };
