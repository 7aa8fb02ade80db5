using System.Reflection;
using System.Reflection.Emit;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Venus.Layout.Tests;

/// <summary>One instance field of a C# struct as the runtime lays it out in memory.</summary>
/// <param name="Name">The field's metadata name (a C# <c>@keyword</c> is stored without the <c>@</c>).</param>
/// <param name="Offset">Byte offset from the start of the struct.</param>
/// <param name="Size">Bytes the field occupies (a fixed buffer or inline array: all its elements).</param>
public sealed record ManagedField(string Name, int Offset, int Size, string TypeName);

/// <summary>The memory layout of one C# struct type.</summary>
public sealed record ManagedStruct(string Name, int Size, int Alignment, bool IsExplicit, IReadOnlyList<ManagedField> Fields);

/// <summary>
/// Measures the managed (in-memory) layout of value types through reflection: the layout the runtime
/// really uses when such a struct is passed by pointer to native code.
/// <list type="bullet">
/// <item>size: <see cref="Unsafe.SizeOf{T}"/> (the IL <c>sizeof</c>), which counts fixed buffers and
/// <c>[InlineArray]</c> fields in full;</item>
/// <item>field offsets: the address a <c>ldflda</c> yields relative to the struct's address (a
/// <see cref="DynamicMethod"/> per field), which works for every field kind, fixed buffers and inline
/// arrays included (<see cref="Marshal.OffsetOf(Type, string)"/> gives the marshalling layout instead;
/// a test checks that the two agree);</item>
/// <item>alignment: the offset of a <typeparamref name="T"/> placed after one byte in a sequential
/// struct (<see cref="AlignProbe{T}"/>).</item>
/// </list>
/// </summary>
public static class ManagedLayout
{
    public const string VulkanNamespace = "Venus.Protocol.Vulkan";

    /// <summary>The Venus.Protocol assembly (found through a type it defines).</summary>
    public static Assembly ProtocolAssembly => typeof(Venus.Protocol.Vulkan.VkExtent2D).Assembly;

    /// <summary>Every top-level struct type in the Venus.Protocol.Vulkan namespace, by name.</summary>
    public static IReadOnlyList<Type> AllVulkanNamespaceStructs() =>
        ProtocolAssembly.GetTypes()
            .Where(t => t.IsValueType && !t.IsEnum && !t.IsNested && t.Namespace == VulkanNamespace)
            .OrderBy(t => t.Name, StringComparer.Ordinal)
            .ToList();

    /// <summary>An <c>[InlineArray(N)]</c> helper (e.g. <c>VkMemoryType_Array32</c>): no C counterpart.</summary>
    public static bool IsInlineArrayHelper(Type type) =>
        type.GetCustomAttribute<InlineArrayAttribute>() is not null;

    public static ManagedStruct Measure(Type type)
    {
        if (!type.IsValueType)
            throw new ArgumentException($"{type} is not a value type", nameof(type));
        int size = SizeOf(type);
        // Declaration (metadata) order, which is C member order for sequential structs.
        var fields = new List<ManagedField>();
        foreach (FieldInfo field in type.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic))
            fields.Add(new ManagedField(CName(field.Name), OffsetOf(field), FieldSize(field), field.FieldType.Name));
        bool isExplicit = type.StructLayoutAttribute?.Value == LayoutKind.Explicit;
        return new ManagedStruct(type.Name, size, AlignmentOf(type), isExplicit, fields);
    }

    /// <summary>The C member name of a field: C# escapes C keywords as <c>@object</c>.</summary>
    public static string CName(string name) => name.StartsWith('@') ? name[1..] : name;

    public static int SizeOf(Type type)
    {
        if (type.IsPointer || type.IsFunctionPointer || type.IsUnmanagedFunctionPointer)
            return IntPtr.Size;
        return (int)SizeOfMethod.MakeGenericMethod(type).Invoke(null, null)!;
    }

    /// <summary>Alignment the runtime gives <paramref name="type"/> when it is a field of a sequential struct.</summary>
    public static int AlignmentOf(Type type)
    {
        if (type.IsPointer || type.IsFunctionPointer || type.IsUnmanagedFunctionPointer)
            type = typeof(nint);
        Type probe = typeof(AlignProbe<>).MakeGenericType(type);
        return OffsetOf(probe.GetField(nameof(AlignProbe<int>.Value))!);
    }

    /// <summary>Byte offset of an instance field, as the running code addresses it.</summary>
    public static unsafe int OffsetOf(FieldInfo field)
    {
        Type owner = field.DeclaringType!;
        var method = new DynamicMethod($"offsetof_{owner.Name}_{field.Name}", typeof(nint), [typeof(nint)],
            typeof(ManagedLayout).Module, skipVisibility: true);
        ILGenerator il = method.GetILGenerator();
        il.Emit(OpCodes.Ldarg_0);
        il.Emit(OpCodes.Ldflda, field);
        il.Emit(OpCodes.Conv_I);
        il.Emit(OpCodes.Ldarg_0);
        il.Emit(OpCodes.Sub);
        il.Emit(OpCodes.Ret);
        var compute = method.CreateDelegate<Func<nint, nint>>();

        nuint bytes = (nuint)Math.Max(SizeOf(owner), 1);
        void* block = NativeMemory.AlignedAlloc(bytes, 64);
        try
        {
            NativeMemory.Clear(block, bytes);
            return checked((int)compute((nint)block));
        }
        finally
        {
            NativeMemory.AlignedFree(block);
        }
    }

    private static int FieldSize(FieldInfo field) => SizeOf(field.FieldType);

    private static readonly MethodInfo SizeOfMethod =
        typeof(Unsafe).GetMethod(nameof(Unsafe.SizeOf), BindingFlags.Public | BindingFlags.Static)!;
}

/// <summary>A byte followed by a <typeparamref name="T"/>: the offset of <see cref="Value"/> is T's alignment.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct AlignProbe<T> where T : struct
{
    public byte Pad;
    public T Value;
}
