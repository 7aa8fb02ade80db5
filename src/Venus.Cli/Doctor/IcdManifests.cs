using System.Text.Json;

namespace Venus.Cli.Doctor;

/// <summary>One ICD manifest as the Vulkan loader would read it.</summary>
public sealed record IcdManifest(string Path, string? LibraryPath, string? ResolvedLibrary, bool LibraryFound,
    string? ApiVersion, string? Error)
{
    /// <summary>Our driver: the manifest names <c>libvenus_icd.so</c>.</summary>
    public bool IsOurs => LibraryName == "libvenus_icd.so";

    /// <summary>Mesa's venus guest driver (<c>libvulkan_virtio.so</c>).</summary>
    public bool IsMesaVenus => LibraryName == "libvulkan_virtio.so";

    public string? LibraryName => LibraryPath is null ? null : System.IO.Path.GetFileName(LibraryPath);
}

/// <summary>
/// Where the Vulkan loader (1.3/1.4, Linux) looks for driver manifests, in its order:
/// <c>VK_DRIVER_FILES</c> (or the older <c>VK_ICD_FILENAMES</c>) replaces the search with its files
/// and folders; <c>VK_ADD_DRIVER_FILES</c> adds to it; otherwise <c>$XDG_CONFIG_HOME</c>,
/// <c>$XDG_CONFIG_DIRS</c>, /etc, <c>$XDG_DATA_HOME</c> and <c>$XDG_DATA_DIRS</c>, each
/// with <c>vulkan/icd.d</c> appended. <c>VK_LOADER_DRIVERS_DISABLE</c> and
/// <c>VK_LOADER_DRIVERS_SELECT</c> then filter by manifest file name (globs).
/// </summary>
public static class IcdManifests
{
    public sealed record Search(string How, List<string> Places, List<IcdManifest> Manifests, List<string> Filtered);

    public static Search Find(Func<string, string?> env)
    {
        var places = new List<string>();
        string how;
        string? replace = NonEmpty(env("VK_DRIVER_FILES")) ?? NonEmpty(env("VK_ICD_FILENAMES"));
        if (replace is not null)
        {
            how = env("VK_DRIVER_FILES") is { Length: > 0 } ? "VK_DRIVER_FILES" : "VK_ICD_FILENAMES";
            places.AddRange(Split(replace));
        }
        else
        {
            how = "the loader's standard folders";
            if (NonEmpty(env("VK_ADD_DRIVER_FILES")) is { } add)
            {
                how += " and VK_ADD_DRIVER_FILES";
                places.AddRange(Split(add));
            }
            string home = env("HOME") ?? "/root";
            string configHome = NonEmpty(env("XDG_CONFIG_HOME")) ?? System.IO.Path.Combine(home, ".config");
            string configDirs = NonEmpty(env("XDG_CONFIG_DIRS")) ?? "/etc/xdg";
            string dataHome = NonEmpty(env("XDG_DATA_HOME")) ?? System.IO.Path.Combine(home, ".local/share");
            string dataDirs = NonEmpty(env("XDG_DATA_DIRS")) ?? "/usr/local/share:/usr/share";
            places.Add(System.IO.Path.Combine(configHome, "vulkan/icd.d"));
            places.AddRange(Split(configDirs).Select(d => System.IO.Path.Combine(d, "vulkan/icd.d")));
            places.Add("/etc/vulkan/icd.d");
            places.Add(System.IO.Path.Combine(dataHome, "vulkan/icd.d"));
            places.AddRange(Split(dataDirs).Select(d => System.IO.Path.Combine(d, "vulkan/icd.d")));
        }

        var manifests = new List<IcdManifest>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (string place in places)
        {
            foreach (string file in ManifestFiles(place))
            {
                if (seen.Add(file))
                    manifests.Add(Read(file));
            }
        }

        var filtered = new List<string>();
        string[] disable = Split(env("VK_LOADER_DRIVERS_DISABLE") ?? "", ',');
        string[] select = Split(env("VK_LOADER_DRIVERS_SELECT") ?? "", ',');
        manifests.RemoveAll(m =>
        {
            string name = System.IO.Path.GetFileName(m.Path);
            bool drop = (select.Length > 0 && !select.Any(g => Glob(g, name))) || disable.Any(g => Glob(g, name));
            if (drop)
                filtered.Add(m.Path);
            return drop;
        });
        return new Search(how, places, manifests, filtered);
    }

    private static IEnumerable<string> ManifestFiles(string place)
    {
        if (File.Exists(place))
            return [place];
        try
        {
            return Directory.Exists(place)
                ? Directory.EnumerateFiles(place, "*.json").Order(StringComparer.Ordinal).ToList()
                : [];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    /// <summary>Reads one manifest; a broken one comes back with <see cref="IcdManifest.Error"/> set.</summary>
    public static IcdManifest Read(string path)
    {
        try
        {
            using JsonDocument doc = JsonDocument.Parse(File.ReadAllBytes(path));
            if (!doc.RootElement.TryGetProperty("ICD", out JsonElement icd) || icd.ValueKind != JsonValueKind.Object)
                return new IcdManifest(path, null, null, false, null, "no \"ICD\" object");
            string? library = icd.TryGetProperty("library_path", out JsonElement l) && l.ValueKind == JsonValueKind.String ? l.GetString() : null;
            string? api = icd.TryGetProperty("api_version", out JsonElement a) && a.ValueKind == JsonValueKind.String ? a.GetString() : null;
            if (string.IsNullOrEmpty(library))
                return new IcdManifest(path, null, null, false, api, "no \"library_path\"");
            string? resolved = ResolveLibrary(path, library);
            return new IcdManifest(path, library, resolved, resolved is not null, api, null);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
        {
            return new IcdManifest(path, null, null, false, null, e.Message);
        }
    }

    /// <summary>
    /// The file the loader would dlopen: an absolute path as is, a path with a slash relative to the
    /// manifest's folder, a bare name through the library search path (the usual folders only).
    /// </summary>
    private static string? ResolveLibrary(string manifest, string library)
    {
        if (library.StartsWith('/'))
            return File.Exists(library) ? library : null;
        if (library.Contains('/'))
        {
            string full = System.IO.Path.GetFullPath(System.IO.Path.Combine(System.IO.Path.GetDirectoryName(manifest) ?? "/", library));
            return File.Exists(full) ? full : null;
        }
        string[] folders = [.. Split(Environment.GetEnvironmentVariable("LD_LIBRARY_PATH") ?? ""),
            "/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/local/lib", "/usr/lib", "/lib"];
        foreach (string folder in folders)
        {
            string candidate = System.IO.Path.Combine(folder, library);
            if (File.Exists(candidate))
                return candidate;
        }
        return null;
    }

    private static string? NonEmpty(string? s) => string.IsNullOrEmpty(s) ? null : s;

    private static string[] Split(string list, char separator = ':') =>
        list.Split(separator, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>The loader's filter globs: '*' at either end or alone, otherwise an exact name.</summary>
    private static bool Glob(string pattern, string name)
    {
        if (pattern == "*")
            return true;
        bool head = pattern.StartsWith('*'), tail = pattern.EndsWith('*');
        string core = pattern.Trim('*');
        return (head, tail) switch
        {
            (true, true) => name.Contains(core, StringComparison.Ordinal),
            (true, false) => name.EndsWith(core, StringComparison.Ordinal),
            (false, true) => name.StartsWith(core, StringComparison.Ordinal),
            _ => name == core,
        };
    }
}
