import { encryptContent } from '@tiertalk/proto';

/** "[语音]" ("[voice]"): what session and unread previews show for an audio message (docs/FLOWS.md §7.1). */
export const AUDIO_PREVIEW_TEXT = '[语音]';

/** The preview as TeamTalk clients expect it: encrypted with the shared key (docs/PROTOCOL.md §5), computed once at start-up. */
export function audioPreview(aesKey: string): Buffer {
  return encryptContent(AUDIO_PREVIEW_TEXT, aesKey);
}
