// Which files are accepted, and the Content-Type a download is served with.
// TeamTalk clients send every part as application/octet-stream, so the type
// comes from the file name's extension, as in TeamTalk.

const BY_EXTENSION: Readonly<Record<string, string>> = {
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  png: 'image/png',
  gif: 'image/gif',
  bmp: 'image/bmp',
  webp: 'image/webp',
  amr: 'audio/amr',
  ogg: 'audio/ogg',
  spx: 'audio/speex',
  speex: 'audio/speex',
  mp3: 'audio/mpeg',
  aac: 'audio/aac',
  m4a: 'audio/aac',
  wav: 'audio/wav',
};
// What a client may declare for a part besides the extension's own type.
const GENERIC_PART_TYPES = new Set(['application/octet-stream', 'binary/octet-stream', '']);

/** The MIME type of a (lower-case) extension; undefined when unknown. */
export function typeOfExtension(extension: string): string | undefined {
  return Object.hasOwn(BY_EXTENSION, extension) ? BY_EXTENSION[extension] : undefined;
}

/**
 * The type to store an upload under, or undefined when refused: the
 * extension's type must be on the allow-list, and a declared part type must be
 * generic (application/octet-stream) or that same type.
 */
export function acceptedType(extension: string, declared: string, allowed: ReadonlySet<string>): string | undefined {
  const type = typeOfExtension(extension);
  if (type === undefined || !allowed.has(type)) return undefined;
  const part = declared.split(';')[0].trim().toLowerCase();
  if (!GENERIC_PART_TYPES.has(part) && part !== type) return undefined;
  return type;
}

/**
 * The Content-Type of a download. TeamTalk answered image/<extension> for jpg,
 * jpeg, png and gif (image/jpg included), so those keep that; other files get
 * their real type where TeamTalk said multipart/form-data.
 */
export function downloadType(extension: string): string {
  const ext = extension.toLowerCase();
  if (ext === 'jpg' || ext === 'jpeg' || ext === 'png' || ext === 'gif') return `image/${ext}`;
  return typeOfExtension(ext) ?? 'application/octet-stream';
}
