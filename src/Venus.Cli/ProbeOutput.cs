using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Venus.Client;
using Venus.Protocol;
using Venus.Protocol.Vulkan;

namespace Venus.Cli;

/// <summary>Writes a <see cref="ProbeReport"/> as text or JSON (Utf8JsonWriter: no reflection, trim/AOT-safe).</summary>
public static class ProbeOutput
{
    public static void WriteText(TextWriter w, ProbeReport r)
    {
        CapsetReport c = r.Capset;
        w.WriteLine($"vtest host      {r.SocketPath} (vtest protocol {r.VtestProtocolVersion})");
        w.WriteLine($"capset          wire format {c.WireFormatVersion}, vk.xml {Version(c.VkXmlVersion)}, " +
                    $"VK_EXT_command_serialization spec {c.CommandSerializationSpecVersion}, " +
                    $"VK_MESA_venus_protocol spec {c.VenusProtocolSpecVersion}, {c.ExtensionCount} extensions");
        w.WriteLine($"instance        version {Version(r.InstanceVersion)}, created with apiVersion {Version(r.InstanceApiVersion)}");
        w.WriteLine($"devices         {r.Devices.Count}");
        for (int i = 0; i < r.Devices.Count; i++)
        {
            DeviceReport d = r.Devices[i];
            w.WriteLine();
            w.WriteLine($"device {i}: {d.Name}");
            w.WriteLine($"  apiVersion        {Version(d.ApiVersion)}");
            w.WriteLine($"  driverVersion     {d.DriverVersion} (0x{d.DriverVersion:x})");
            w.WriteLine($"  vendorID          0x{d.VendorId:x}");
            w.WriteLine($"  deviceID          0x{d.DeviceId:x}");
            w.WriteLine($"  deviceType        {Enum.GetName(d.DeviceType) ?? ((int)d.DeviceType).ToString(CultureInfo.InvariantCulture)}");
            w.WriteLine($"  queue families    {d.QueueFamilies.Count}");
            for (int q = 0; q < d.QueueFamilies.Count; q++)
            {
                QueueFamilyReport f = d.QueueFamilies[q];
                w.WriteLine($"    [{q}] count {f.QueueCount}, timestampValidBits {f.TimestampValidBits}, " +
                            $"granularity ({f.GranularityWidth},{f.GranularityHeight},{f.GranularityDepth}): " +
                            string.Join(" | ", FlagNames<VkQueueFlagBits>(f.Flags)));
            }
            w.WriteLine($"  memory heaps      {d.MemoryHeaps.Count}");
            for (int h = 0; h < d.MemoryHeaps.Count; h++)
            {
                MemoryHeapReport heap = d.MemoryHeaps[h];
                w.WriteLine($"    [{h}] {heap.Size} bytes ({Bytes(heap.Size)}): " +
                            string.Join(" | ", FlagNames<VkMemoryHeapFlagBits>(heap.Flags)));
            }
            w.WriteLine($"  memory types      {d.MemoryTypes.Count}");
            for (int t = 0; t < d.MemoryTypes.Count; t++)
            {
                MemoryTypeReport type = d.MemoryTypes[t];
                w.WriteLine($"    [{t}] heap {type.HeapIndex}: " +
                            string.Join(" | ", FlagNames<VkMemoryPropertyFlagBits>(type.PropertyFlags)));
            }
            w.WriteLine($"  device extensions {d.Extensions.Count}");
        }
    }

    public static void WriteJson(TextWriter w, ProbeReport r)
    {
        using var buffer = new MemoryStream();
        using (var j = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            j.WriteStartObject();
            j.WriteString("socket", r.SocketPath);
            j.WriteNumber("vtestProtocolVersion", r.VtestProtocolVersion);

            j.WriteStartObject("capset");
            j.WriteNumber("wireFormatVersion", r.Capset.WireFormatVersion);
            j.WriteString("vkXmlVersion", Version(r.Capset.VkXmlVersion));
            j.WriteNumber("commandSerializationSpecVersion", r.Capset.CommandSerializationSpecVersion);
            j.WriteNumber("venusProtocolSpecVersion", r.Capset.VenusProtocolSpecVersion);
            j.WriteNumber("extensionCount", r.Capset.ExtensionCount);
            j.WriteEndObject();

            j.WriteString("instanceVersion", Version(r.InstanceVersion));
            j.WriteString("instanceApiVersion", Version(r.InstanceApiVersion));

            j.WriteStartArray("devices");
            foreach (DeviceReport d in r.Devices)
            {
                j.WriteStartObject();
                j.WriteString("deviceName", d.Name);
                j.WriteString("apiVersion", Version(d.ApiVersion));
                j.WriteNumber("driverVersion", d.DriverVersion);
                j.WriteNumber("vendorID", d.VendorId);
                j.WriteNumber("deviceID", d.DeviceId);
                j.WriteString("deviceType", Enum.GetName(d.DeviceType) ?? ((int)d.DeviceType).ToString(CultureInfo.InvariantCulture));

                j.WriteStartArray("queueFamilies");
                foreach (QueueFamilyReport f in d.QueueFamilies)
                {
                    j.WriteStartObject();
                    WriteFlags<VkQueueFlagBits>(j, "queueFlags", f.Flags);
                    j.WriteNumber("queueCount", f.QueueCount);
                    j.WriteNumber("timestampValidBits", f.TimestampValidBits);
                    j.WriteStartObject("minImageTransferGranularity");
                    j.WriteNumber("width", f.GranularityWidth);
                    j.WriteNumber("height", f.GranularityHeight);
                    j.WriteNumber("depth", f.GranularityDepth);
                    j.WriteEndObject();
                    j.WriteEndObject();
                }
                j.WriteEndArray();

                j.WriteStartArray("memoryHeaps");
                foreach (MemoryHeapReport heap in d.MemoryHeaps)
                {
                    j.WriteStartObject();
                    j.WriteNumber("size", heap.Size);
                    WriteFlags<VkMemoryHeapFlagBits>(j, "flags", heap.Flags);
                    j.WriteEndObject();
                }
                j.WriteEndArray();

                j.WriteStartArray("memoryTypes");
                foreach (MemoryTypeReport type in d.MemoryTypes)
                {
                    j.WriteStartObject();
                    WriteFlags<VkMemoryPropertyFlagBits>(j, "propertyFlags", type.PropertyFlags);
                    j.WriteNumber("heapIndex", type.HeapIndex);
                    j.WriteEndObject();
                }
                j.WriteEndArray();

                j.WriteNumber("extensionCount", d.Extensions.Count);
                j.WriteStartObject("extensions");
                foreach (ExtensionReport x in d.Extensions)
                    j.WriteNumber(x.Name, x.SpecVersion);
                j.WriteEndObject();
                j.WriteEndObject();
            }
            j.WriteEndArray();
            j.WriteEndObject();
        }
        w.WriteLine(Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length));
    }

    /// <summary>The names of the set bits ("0x…" for a bit the enum does not name); "none" for 0.</summary>
    public static IReadOnlyList<string> FlagNames<T>(uint flags) where T : struct, Enum
    {
        if (flags == 0)
            return ["none"];
        var names = new List<string>();
        for (int bit = 0; bit < 32; bit++)
        {
            uint value = 1u << bit;
            if ((flags & value) != 0)
                names.Add(BitName<T>(value) ?? $"0x{value:x}");
        }
        return names;
    }

    /// <summary>The enum's name for a value; of aliases (…_KHR = …) the shortest, i.e. the core name.</summary>
    private static string? BitName<T>(uint value) where T : struct, Enum
    {
        // GetNames and GetValues are parallel arrays, one entry per name (aliases included).
        string[] names = Enum.GetNames<T>();
        T[] values = Enum.GetValues<T>();
        string? best = null;
        for (int i = 0; i < values.Length; i++)
        {
            if (Unsafe.As<T, uint>(ref values[i]) == value && (best is null || names[i].Length < best.Length))
                best = names[i];
        }
        return best;
    }

    private static void WriteFlags<T>(Utf8JsonWriter j, string name, uint flags) where T : struct, Enum
    {
        j.WriteStartArray(name);
        if (flags != 0)
            foreach (string flag in FlagNames<T>(flags))
                j.WriteStringValue(flag);
        j.WriteEndArray();
    }

    public static string Version(uint version) => VenusCapset.FormatVulkanVersion(version);

    private static string Bytes(ulong size)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB"];
        double value = size;
        int unit = 0;
        while (value >= 1024 && unit < units.Length - 1)
        {
            value /= 1024;
            unit++;
        }
        return string.Create(CultureInfo.InvariantCulture, $"{value:0.##} {units[unit]}");
    }
}
