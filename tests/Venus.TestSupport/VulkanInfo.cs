using System.Globalization;
using System.Text.RegularExpressions;

namespace Venus.TestSupport;

/// <summary>A Vulkan version as vulkaninfo prints it ("1.2.0").</summary>
public readonly record struct VkVersion(int Major, int Minor, int Patch) : IComparable<VkVersion>
{
    public static VkVersion Parse(string text)
    {
        Match m = Regex.Match(text, @"^(\d+)\.(\d+)\.(\d+)");
        if (!m.Success)
            throw new FormatException($"not a Vulkan version: '{text}'");
        return new VkVersion(int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture),
            int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture), int.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture));
    }

    public int CompareTo(VkVersion other) =>
        (Major, Minor, Patch).CompareTo((other.Major, other.Minor, other.Patch));

    public static bool operator >=(VkVersion a, VkVersion b) => a.CompareTo(b) >= 0;
    public static bool operator <=(VkVersion a, VkVersion b) => a.CompareTo(b) <= 0;
    public static bool operator >(VkVersion a, VkVersion b) => a.CompareTo(b) > 0;
    public static bool operator <(VkVersion a, VkVersion b) => a.CompareTo(b) < 0;

    public override string ToString() => $"{Major}.{Minor}.{Patch}";
}

/// <summary>One "GPUn:" block of <c>vulkaninfo --summary</c>.</summary>
public sealed record SummaryDevice(int Index, IReadOnlyDictionary<string, string> Fields)
{
    public string Name => Fields.GetValueOrDefault("deviceName", "");
    public VkVersion ApiVersion => VkVersion.Parse(Fields.GetValueOrDefault("apiVersion", ""));
    public string DriverId => Fields.GetValueOrDefault("driverID", "");
    public string DriverName => Fields.GetValueOrDefault("driverName", "");
    public string DriverInfo => Fields.GetValueOrDefault("driverInfo", "");
}

/// <summary>The "Devices:" part of <c>vulkaninfo --summary</c>.</summary>
public sealed record VulkanInfoSummary(IReadOnlyList<SummaryDevice> Devices)
{
    public static VulkanInfoSummary Parse(string text)
    {
        var devices = new List<SummaryDevice>();
        Dictionary<string, string>? current = null;
        bool inDevices = false;
        foreach (string raw in text.Split('\n'))
        {
            string line = raw.TrimEnd('\r');
            if (line.StartsWith("Devices:", StringComparison.Ordinal))
            {
                inDevices = true;
                continue;
            }
            if (!inDevices)
                continue;
            Match gpu = Regex.Match(line, @"^GPU(\d+):\s*$");
            if (gpu.Success)
            {
                current = new Dictionary<string, string>();
                devices.Add(new SummaryDevice(int.Parse(gpu.Groups[1].Value, CultureInfo.InvariantCulture), current));
                continue;
            }
            Match field = Regex.Match(line, @"^\s+(\w+)\s*=\s*(.*)$");
            if (field.Success && current is not null)
                current[field.Groups[1].Value] = field.Groups[2].Value.Trim();
        }
        return new VulkanInfoSummary(devices);
    }
}

/// <summary>From the full text output of <c>vulkaninfo</c>: per GPU, the apiVersion and the device extensions.</summary>
public sealed record VulkanInfoFull(IReadOnlyList<VulkanInfoFull.Device> Devices)
{
    public sealed record Device(int Index, string Name, VkVersion ApiVersion, int DeclaredExtensionCount,
        IReadOnlyDictionary<string, int> Extensions);

    public static VulkanInfoFull Parse(string text)
    {
        var devices = new List<Device>();
        string[] lines = text.Replace("\r", "").Split('\n');
        int index = -1;
        string name = "";
        VkVersion api = default;
        bool inDeviceSection = false;
        for (int i = 0; i < lines.Length; i++)
        {
            string line = lines[i];
            if (line.StartsWith("Device Properties and Extensions:", StringComparison.Ordinal))
            {
                inDeviceSection = true;
                continue;
            }
            if (!inDeviceSection)
                continue;
            Match gpu = Regex.Match(line, @"^GPU(\d+):\s*$");
            if (gpu.Success)
            {
                index = int.Parse(gpu.Groups[1].Value, CultureInfo.InvariantCulture);
                name = "";
                api = default;
                continue;
            }
            Match field = Regex.Match(line, @"^\t(apiVersion|deviceName)\s*=\s*(.*)$");
            if (field.Success && index >= 0)
            {
                if (field.Groups[1].Value == "apiVersion" && api == default)
                    api = VkVersion.Parse(field.Groups[2].Value.Trim());
                else if (field.Groups[1].Value == "deviceName" && name.Length == 0)
                    name = field.Groups[2].Value.Trim();
                continue;
            }
            Match ext = Regex.Match(line, @"^Device Extensions: count = (\d+)");
            if (ext.Success && index >= 0)
            {
                var extensions = new Dictionary<string, int>(StringComparer.Ordinal);
                for (i++; i < lines.Length; i++)
                {
                    Match e = Regex.Match(lines[i], @"^\s+(VK_\w+)\s*:\s*extension revision (\d+)");
                    if (!e.Success)
                        break;
                    extensions[e.Groups[1].Value] = int.Parse(e.Groups[2].Value, CultureInfo.InvariantCulture);
                }
                devices.Add(new Device(index, name, api, int.Parse(ext.Groups[1].Value, CultureInfo.InvariantCulture), extensions));
            }
        }
        return new VulkanInfoFull(devices);
    }
}
