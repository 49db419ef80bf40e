/**
 * Board descriptors (boards/*.json, and the user's board folders): loading and checking them
 * against boards/schema.json. A loaded board is a target descriptor; the strategy that brings it to
 * ready (bringUp, flashBoard, resetBoard) is the targets layer's (host/src/targets/index.ts).
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
  validateDescriptor,
  type Board,
  type BoardDescriptor,
  type BoardKind,
  type FlashStep,
  type FlashTool,
  type ResetStep,
  type UsbSelector,
} from './descriptor.js';
