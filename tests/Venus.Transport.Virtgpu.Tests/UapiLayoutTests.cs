using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Venus.Transport.Virtgpu;
using Xunit.Abstractions;

namespace Venus.Transport.Virtgpu.Tests;

/// <summary>
/// The C# ioctl structs and constants against the kernel's own uapi headers, compiled by gcc at
/// test time in the peers chroot (Debian trixie, headers 6.12 = the guest VM's kernel).
/// </summary>
[Collection(UapiProbeCollection.Name)]
public sealed class UapiLayoutTests(UapiProbeFixture fixture, ITestOutputHelper output)
{
    [Fact]
    public void Probe_reads_the_6_12_uapi_headers()
    {
        UapiProbeFixture f = fixture.Require();
        output.WriteLine($"gcc probe in {f.ChrootRoot} took {f.Elapsed.TotalSeconds:0.0} s; headers {f.HeaderVersion}");
        Assert.Equal("6.12", f.HeaderVersion);
    }

    [Fact]
    public void Every_struct_has_the_size_and_member_offsets_of_the_header()
    {
        UapiProbeResult probe = fixture.Require().Probe;
        var mismatches = new List<string>();
        int members = 0;
        foreach (UapiStruct s in UapiExpectations.Structs)
        {
            if (!probe.Sizes.TryGetValue(s.CName, out long cSize))
            {
                mismatches.Add($"{s.CName}: the probe did not report it");
                continue;
            }
            int managedSize = SizeOf(s.CSharp);
            if (managedSize != cSize)
                mismatches.Add($"{s.CSharp.Name}: sizeof {managedSize}, struct {s.CName} has {cSize}");
            if (Marshal.SizeOf(s.CSharp) != managedSize)
                mismatches.Add($"{s.CSharp.Name}: not blittable (Marshal.SizeOf {Marshal.SizeOf(s.CSharp)} != sizeof {managedSize})");

            FieldInfo[] fields = s.CSharp.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic);
            string[] expected = s.Members.Select(PascalCase).ToArray();
            if (!fields.Select(f => f.Name).SequenceEqual(expected))
                mismatches.Add($"{s.CSharp.Name}: fields [{string.Join(", ", fields.Select(f => f.Name))}], header members [{string.Join(", ", s.Members)}]");

            foreach (string member in s.Members)
            {
                members++;
                FieldInfo? field = fields.FirstOrDefault(f => f.Name == PascalCase(member));
                if (field is null)
                    continue;
                (long offset, long size, int signed) = probe.Members[(s.CName, member)];
                long managedOffset = Marshal.OffsetOf(s.CSharp, field.Name);
                (int fieldSize, int fieldSigned) = Describe(field.FieldType);
                if (managedOffset != offset)
                    mismatches.Add($"{s.CSharp.Name}.{field.Name}: offset {managedOffset}, {s.CName}.{member} at {offset}");
                if (fieldSize != size)
                    mismatches.Add($"{s.CSharp.Name}.{field.Name}: {fieldSize} bytes ({field.FieldType.Name}), {s.CName}.{member} has {size}");
                if (fieldSigned != signed)
                    mismatches.Add($"{s.CSharp.Name}.{field.Name}: signedness {fieldSigned} ({field.FieldType.Name}), {s.CName}.{member} has {signed}");
            }
        }
        output.WriteLine($"compared {UapiExpectations.Structs.Length} structs, {members} members");
        Assert.True(mismatches.Count == 0, "layout mismatches with the uapi headers:\n" + string.Join('\n', mismatches));
    }

    [Fact]
    public void Every_request_number_and_constant_is_the_header_s()
    {
        UapiProbeResult probe = fixture.Require().Probe;
        var mismatches = new List<string>();
        foreach (UapiConstant k in UapiExpectations.Constants)
        {
            if (!probe.Constants.TryGetValue(k.Macro, out ulong c))
                mismatches.Add($"{k.Macro}: the probe did not report it");
            else if (c != k.Ours)
                mismatches.Add($"{k.Macro}: ours 0x{k.Ours:x}, header 0x{c:x}");
        }
        output.WriteLine($"compared {UapiExpectations.Constants.Length} constants");
        Assert.True(mismatches.Count == 0, "constants that differ from the headers:\n" + string.Join('\n', mismatches));
    }

    [Fact]
    public void Every_virtgpu_macro_of_the_header_is_modelled_or_deliberately_left_out()
    {
        UapiProbeResult probe = fixture.Require().Probe;
        var known = UapiExpectations.Constants.Select(k => k.Macro).Concat(UapiExpectations.NotModelled).ToHashSet();
        string[] family = probe.Macros.Keys
            .Where(m => UapiExpectations.CoveredMacroPrefixes.Any(p => m.StartsWith(p, StringComparison.Ordinal)))
            .Order(StringComparer.Ordinal).ToArray();
        Assert.True(family.Length > 40, $"gcc -dM listed only {family.Length} virtgpu macros: {string.Join(", ", family)}");
        string[] missing = family.Where(m => !known.Contains(m)).ToArray();
        Assert.True(missing.Length == 0, "virtgpu_drm.h macros this transport does not know: " + string.Join(", ", missing));
        string[] gone = UapiExpectations.NotModelled.Where(m => !probe.Macros.ContainsKey(m)).ToArray();
        Assert.True(gone.Length == 0, "'not modelled' macros the header no longer has: " + string.Join(", ", gone));
    }

    [Fact]
    public void Enums_hold_exactly_the_header_values()
    {
        UapiProbeResult probe = fixture.Require().Probe;
        AssertEnum<VirtgpuParam>(probe, "VIRTGPU_PARAM_");
        AssertEnum<VirtgpuContextParam>(probe, "VIRTGPU_CONTEXT_PARAM_");
        AssertEnum<VirtgpuBlobMem>(probe, "VIRTGPU_BLOB_MEM_");
        AssertEnum<VirtgpuBlobFlags>(probe, "VIRTGPU_BLOB_FLAG_", skipZero: true);
        AssertEnum<VirtgpuExecbufferFlags>(probe, "VIRTGPU_EXECBUF_", skipZero: true,
            exclude: ["VIRTGPU_EXECBUF_FLAGS", "VIRTGPU_EXECBUF_SYNCOBJ_RESET", "VIRTGPU_EXECBUF_SYNCOBJ_FLAGS"]);
    }

    private static void AssertEnum<T>(UapiProbeResult probe, string prefix, bool skipZero = false, string[]? exclude = null)
        where T : struct, Enum
    {
        ulong[] ours = Enum.GetValues<T>().Select(v => Convert.ToUInt64(v, System.Globalization.CultureInfo.InvariantCulture))
            .Where(v => !skipZero || v != 0).Order().ToArray();
        ulong[] header = probe.Constants
            .Where(kv => kv.Key.StartsWith(prefix, StringComparison.Ordinal) && exclude?.Contains(kv.Key) != true)
            .Select(kv => kv.Value).Order().ToArray();
        Assert.True(ours.SequenceEqual(header),
            $"{typeof(T).Name}: ours [{string.Join(", ", ours)}], header {prefix}* [{string.Join(", ", header)}]");
    }

    internal static string PascalCase(string cName) =>
        string.Concat(cName.Split('_').Select(p => p.Length == 0 ? p : char.ToUpperInvariant(p[0]) + p[1..]));

    private static (int Size, int Signed) Describe(Type t)
    {
        if (t.IsPointer)
            return (IntPtr.Size, -1);
        if (t.IsEnum)
            t = Enum.GetUnderlyingType(t);
        return t switch
        {
            _ when t == typeof(byte) => (1, 0),
            _ when t == typeof(sbyte) => (1, 1),
            _ when t == typeof(ushort) => (2, 0),
            _ when t == typeof(short) => (2, 1),
            _ when t == typeof(uint) => (4, 0),
            _ when t == typeof(int) => (4, 1),
            _ when t == typeof(ulong) => (8, 0),
            _ when t == typeof(long) => (8, 1),
            _ when t == typeof(nuint) => (IntPtr.Size, 0),
            _ when t == typeof(nint) => (IntPtr.Size, 1),
            _ => throw new InvalidOperationException($"field type {t} has no C counterpart here"),
        };
    }

    private static int SizeOf(Type t) =>
        (int)typeof(Unsafe).GetMethod(nameof(Unsafe.SizeOf))!.MakeGenericMethod(t).Invoke(null, null)!;
}
