using System.Buffers.Binary;
using System.Text;

namespace Venus.Protocol.Wire;

/// <summary>
/// The recording format both halves write and <c>venus dump</c> reads: the magic "VNUS" (u32
/// 0x53554e56, little-endian), then records of <c>u32 stream-name length, name (ASCII), u32 byte
/// count, bytes</c>. A record holds one or more whole commands of one stream ("virtqueue", "ring
/// 0x…"): venus-host writes one command per record as it dispatches them, our ICD one record per
/// submission as it sends them (<c>VENUS_RECORD=DIR</c>).
/// </summary>
public static class VenusRecording
{
    public const uint Magic = 0x53554e56; // "VNUS"

    /// <summary>Largest stream name a reader accepts.</summary>
    public const int MaxStreamName = 256;

    /// <summary>One record: the stream's name and the offset and length of its bytes in the file.</summary>
    public readonly record struct Record(string Stream, int Offset, int Length);

    /// <summary>The records of a whole recording; <see cref="InvalidDataException"/> says where it is broken.</summary>
    public static List<Record> Read(ReadOnlySpan<byte> data)
    {
        if (data.Length < 4 || BinaryPrimitives.ReadUInt32LittleEndian(data) != Magic)
            throw new InvalidDataException("not a Venus recording (no VNUS magic)");
        var records = new List<Record>();
        int pos = 4;
        while (pos < data.Length)
        {
            if (data.Length - pos < 4)
                throw new InvalidDataException($"record cut off at byte {pos}");
            int nameLength = BinaryPrimitives.ReadInt32LittleEndian(data[pos..]);
            if (nameLength < 0 || nameLength > MaxStreamName || data.Length - pos - 4 < nameLength + 4)
                throw new InvalidDataException($"bad record at byte {pos}");
            string stream = Encoding.ASCII.GetString(data.Slice(pos + 4, nameLength));
            pos += 4 + nameLength;
            int length = BinaryPrimitives.ReadInt32LittleEndian(data[pos..]);
            if (length < 8 || data.Length - pos - 4 < length)
                throw new InvalidDataException($"bad command length at byte {pos}");
            records.Add(new Record(stream, pos + 4, length));
            pos += 4 + length;
        }
        return records;
    }

    /// <summary>Appends records to a file; safe to call from several threads.</summary>
    public sealed class Writer : IDisposable
    {
        private readonly FileStream _file;
        private readonly Lock _lock = new();
        private bool _disposed;

        /// <summary>Creates (or replaces) <paramref name="path"/> and writes the magic.</summary>
        public Writer(string path)
        {
            Path = path;
            _file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read);
            Span<byte> magic = stackalloc byte[4];
            BinaryPrimitives.WriteUInt32LittleEndian(magic, Magic);
            _file.Write(magic);
        }

        public string Path { get; }

        /// <summary>A file name made of <paramref name="label"/>'s letters, digits, '-' and '_' (others become '_').</summary>
        public static string SafeName(string label) =>
            string.Concat(label.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' ? c : '_')) + ".venus";

        public void Write(string stream, ReadOnlySpan<byte> bytes)
        {
            Span<byte> header = stackalloc byte[4];
            Span<byte> name = stackalloc byte[Math.Min(stream.Length, MaxStreamName)];
            int nameLength = Encoding.ASCII.GetBytes(stream.AsSpan(0, name.Length), name);
            lock (_lock)
            {
                if (_disposed)
                    return;
                BinaryPrimitives.WriteInt32LittleEndian(header, nameLength);
                _file.Write(header);
                _file.Write(name[..nameLength]);
                BinaryPrimitives.WriteInt32LittleEndian(header, bytes.Length);
                _file.Write(header);
                _file.Write(bytes);
            }
        }

        /// <summary>Pushes what was written to the file (the ICD does at each submit, so a crash loses nothing).</summary>
        public void Flush()
        {
            lock (_lock)
                if (!_disposed)
                    _file.Flush();
        }

        public void Dispose()
        {
            lock (_lock)
            {
                if (_disposed)
                    return;
                _disposed = true;
                _file.Dispose();
            }
        }
    }
}
