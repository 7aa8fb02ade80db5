using Venus.Codegen.Model;

namespace Venus.Codegen.Emit;

/// <summary>How one struct member or command parameter travels (venus-protocol.md §1), decided once.</summary>
public enum WireKind
{
    /// <summary>sType and pNext: written by the struct's entry functions and its chain functions.</summary>
    Chain,
    /// <summary>const VkAllocationCallbacks*: always a NULL pointer (§1.2).</summary>
    AllocationCallbacks,
    Scalar, Handle, Struct, Union,
    FixedArray, Pointer, Array, Blob, String, StringArray, PointerArray,
    /// <summary>Never travels (decoded as NULL): a pointer whose size only the driver knows.</summary>
    Skipped,
}

/// <summary>
/// The per-field plan (venus-protocol's field info): for a member or parameter its wire kind, element
/// type and sizes, count expression, optionality and condition — what every codec emitter (struct,
/// chain, union, command, recording fast path) reads instead of deciding again. Computed once per
/// field by <see cref="FieldPlan.Of"/>.
/// </summary>
public sealed record FieldPlan
{
    public required FieldModel Field { get; init; }
    public required WireKind Kind { get; init; }
    /// <summary>The element type (the field's own type for values).</summary>
    public required TypeRef Elem { get; init; }
    /// <summary>C# type of one element in memory (arrays: what the decoder allocates; byte for blobs and char arrays).</summary>
    public required string ElemCs { get; init; }
    /// <summary>Bytes of one element in memory (1 for blobs).</summary>
    public required int ElemNativeSize { get; init; }
    /// <summary>Elements are structs (or unions): encoded one by one.</summary>
    public bool ElemIsStruct => Elem.Struct != null;
    /// <summary>Array elements travel as their memory bytes padded to 4 (packed scalars, blobs).</summary>
    public required bool RawCopy { get; init; }
    /// <summary>Smallest wire size of one element of a full encode (the decoder's array-fits check).</summary>
    public required int MinElemWireSize { get; init; }
    /// <summary>Fixed array length.</summary>
    public int FixedLen => Field.FixedLen;
    /// <summary>Count expression over "{0}" (the receiver prefix), for arrays, blobs and string arrays.</summary>
    public string? Count => Field.LenExpr;
    /// <summary>The member or parameter that is the count, when the count is a plain name.</summary>
    public string? CountName => Field.LenName;
    /// <summary>C# condition (over "{0}") under which an array travels (§1.8).</summary>
    public string? Condition => Field.Condition;
    public bool Optional => Field.Optional;
    /// <summary>A command parameter the host writes.</summary>
    public bool Output => Field.IsOutput;

    public static bool IsRawCopyType(TypeRef t) => (t.Kind is TypeKind.Scalar or TypeKind.Enum) && (t.NativeSize == t.WireSize || t.NativeSize < 4);

    public static FieldPlan Of(FieldModel f, NativeEmitter native)
    {
        var t = f.Elem;
        var kind = f.Shape switch
        {
            FieldShape.SType or FieldShape.PNext => WireKind.Chain,
            FieldShape.AllocationCallbacks => WireKind.AllocationCallbacks,
            FieldShape.Value => t.Kind switch
            {
                TypeKind.Scalar or TypeKind.Enum => WireKind.Scalar,
                TypeKind.Handle => WireKind.Handle,
                TypeKind.Struct => WireKind.Struct,
                TypeKind.Union => WireKind.Union,
                _ => throw new InvalidOperationException($"{f.Name}: a value of kind {t.Kind}"),
            },
            FieldShape.FixedArray => WireKind.FixedArray,
            FieldShape.Pointer => WireKind.Pointer,
            FieldShape.Array => WireKind.Array,
            FieldShape.Blob => WireKind.Blob,
            FieldShape.String => WireKind.String,
            FieldShape.StringArray => WireKind.StringArray,
            FieldShape.PointerArray => WireKind.PointerArray,
            _ => WireKind.Skipped,
        };
        bool blob = kind == WireKind.Blob;
        bool isStruct = t.Struct != null;
        string elemCs = blob ? "byte"
            : kind == WireKind.FixedArray ? (t.Kind == TypeKind.Enum ? native.UnderlyingOf(t) : t.Kind == TypeKind.Char ? "byte" : t.Cs)
            : t.Cs;
        int nat = blob ? 1 : Math.Max(t.NativeSize, 1);
        bool raw = blob || (!isStruct && t.Kind != TypeKind.Handle && IsRawCopyType(t));
        int min = isStruct ? t.Struct!.MinWireSize : t.Kind == TypeKind.Handle ? 8 : raw ? nat : t.WireSize;
        return new FieldPlan
        {
            Field = f, Kind = kind, Elem = t, ElemCs = elemCs, ElemNativeSize = nat, RawCopy = raw, MinElemWireSize = min,
        };
    }
}
