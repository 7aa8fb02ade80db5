using System.Text;

namespace Venus.GuestIcd.Runtime;

/// <summary>
/// Answers about the host that cannot change while this (virtual) machine runs, kept across
/// processes for one boot: a file per answer under <c>$XDG_CACHE_HOME/venus</c> (else
/// <c>~/.cache/venus</c>), named by a hash of the question, the kernel's boot id and what identifies
/// the host device. A VMM serves one render server for the life of a boot, so an answer that took
/// round trips to learn (e.g. whether the host imports the memory it exported) is learnt by the
/// first process only. Anything odd (no boot id, no cache folder, an unreadable or malformed file)
/// just means no cached answer; writing is best effort and atomic (a temporary file renamed).
/// </summary>
internal static class BootCache
{
    private const int MaxBytes = 4096;

    /// <summary>The cached answer at <paramref name="path"/> (<see cref="PathFor"/>): ok, with the reason when not ok.</summary>
    public static bool TryRead(string path, out bool ok, out string why)
    {
        ok = false;
        why = "";
        try
        {
            if (!File.Exists(path))
                return false;
            using var f = new FileStream(path, FileMode.Open, FileAccess.Read);
            if (f.Length > MaxBytes)
                return false;
            string text = new StreamReader(f, Encoding.UTF8).ReadToEnd();
            if (text.StartsWith("ok\n", StringComparison.Ordinal))
            {
                ok = true;
                return true;
            }
            if (text.StartsWith("no ", StringComparison.Ordinal) && text.EndsWith('\n') && text.Length > 4)
            {
                why = text[3..^1];
                return !why.Contains('\n');
            }
            return false;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>Keeps the answer at <paramref name="path"/> for later processes of this boot (best effort).</summary>
    public static void Write(string path, string question, bool ok, string why)
    {
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            string tmp = $"{path}.{Environment.ProcessId}.tmp";
            File.WriteAllText(tmp, ok ? "ok\n" : $"no {why.Replace('\n', ' ')}\n", Encoding.UTF8);
            File.Move(tmp, path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            IcdLog.Info($"boot cache: could not keep the answer to '{question}': {e.Message}");
        }
    }

    /// <summary>Where the answer to <paramref name="question"/> about the host device <paramref name="device"/> is kept this boot; null when there is no cache folder or boot id.</summary>
    public static string? PathFor(string question, ReadOnlySpan<byte> device)
    {
        string? dir = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        if (string.IsNullOrEmpty(dir) || !Path.IsPathRooted(dir))
        {
            string? home = Environment.GetEnvironmentVariable("HOME");
            if (string.IsNullOrEmpty(home) || !Path.IsPathRooted(home))
                return null;
            dir = Path.Combine(home, ".cache");
        }
        string bootId;
        try
        {
            bootId = File.ReadAllText("/proc/sys/kernel/random/boot_id").Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
        if (bootId.Length == 0)
            return null;
        var key = new byte[Encoding.UTF8.GetByteCount(question) + Encoding.UTF8.GetByteCount(bootId) + device.Length];
        int n = Encoding.UTF8.GetBytes(question, key);
        n += Encoding.UTF8.GetBytes(bootId, key.AsSpan(n));
        device.CopyTo(key.AsSpan(n));
        // Two FNV-1a passes (not a cryptographic hash: System.Security.Cryptography would need
        // libssl, which a guest need not have; the name only has to tell questions apart).
        return Path.Combine(dir, "venus", $"{Fnv1a(key, 0xcbf29ce484222325):x16}{Fnv1a(key, 0x84222325cbf29ce4):x16}");
    }

    private static ulong Fnv1a(ReadOnlySpan<byte> data, ulong hash)
    {
        foreach (byte b in data)
            hash = (hash ^ b) * 0x100000001b3;
        return hash;
    }
}
