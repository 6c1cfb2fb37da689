using System.Diagnostics;
using System.Text.Json;
using HashBackdoor.Data;
using HashBackdoor.Hashing;
using HashBackdoor.Retrieval;
using static TorchSharp.torch;

namespace HashBackdoor.Experiments;

/// <summary>Codes of a split, packed, with their labels.</summary>
public sealed record EncodedSet(BinaryCodes Codes, LabelSets Labels, byte[] LabelBytes, int Classes, long ExactZeros);
