/**
 * Board descriptors (boards/*.json) and the strategy that brings a described board to ready:
 * what `hil flash`, `hil monitor --board` and `--board` on test/diag/bench use.
 */
export {
  BOARDS_DIR,
  SCHEMA_FILE,
  DescriptorError,
  boardNames,
  displayPath,
  firmwareConfig,
  loadAllBoards,
  loadBoard,
  loadBoardFile,
  targetSpec,
  validateDescriptor,
  type Board,
  type BoardDescriptor,
  type BoardKind,
  type FlashStep,
  type FlashTool,
  type ResetStep,
  type UsbSelector,
} from './descriptor.js';
export { compareWithBuild, configLimits, expectedFirmware, firmwareVersion, parseBanner, type Banner, type ExpectedFirmware, type PoolLimits } from './build-info.js';
export {
  BoardError,
  FlashError,
  VerifyError,
  commandLine,
  expectedBuild,
  flashBoard,
  flashImage,
  prepareBoard,
  resetBoard,
  type FlashAttempt,
  type FlashReport,
  type PrepareOptions,
  type ReadyBoard,
} from './strategy.js';
